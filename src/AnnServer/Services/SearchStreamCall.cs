using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using AnnServer.Diagnostics;
using AnnServer.Protocol.V1;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace AnnServer.Services;

/// <summary>
/// One SearchStream call. A reader loop takes each request, waits for a place in the stream's window
/// (--max-stream-in-flight) and dispatches its search; searches run concurrently, each on a pool thread, and put their
/// answer in a channel; one writer loop sends the answers as they come (IServerStreamWriter allows one write at a time)
/// and frees a place in the window once an answer is sent. So at most --max-stream-in-flight searches of one stream are
/// running, waiting for a search slot, or answered and not sent: past that the reader stops reading, and HTTP/2 flow
/// control stops the caller. A failed search is answered with its error; only what ends the call (the caller cancels,
/// the deadline, a failed write) ends the stream, and then the searches in flight are cancelled.
/// </summary>
internal sealed class SearchStreamCall
{
    private readonly SearchStreams _streams;
    private readonly VectorGrpcService _service;
    private readonly IServerStreamWriter<SearchStreamResponse> _responses;
    private readonly ServerCallContext _context;
    private readonly int _window;
    private readonly SemaphoreSlim _places;
    private readonly Channel<SearchStreamResponse> _answers =
        Channel.CreateUnbounded<SearchStreamResponse>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
    // Cancelled when the call's token is, or when the stream fails. Not disposed: searches cancelled with the stream may
    // still be finishing when the call ends. Not linked either: the call's token may outlive the call (Kestrel reuses its
    // sources), so the registration on it is removed when the call ends.
    private readonly CancellationTokenSource _ended = new();
    private readonly ConcurrentQueue<StreamSearch> _idle = new();

    public SearchStreamCall(SearchStreams streams, VectorGrpcService service, IServerStreamWriter<SearchStreamResponse> responses,
        ServerCallContext context)
    {
        _streams = streams;
        _service = service;
        _responses = responses;
        _context = context;
        _window = streams.Limits.MaxStreamInFlight;
        _places = new SemaphoreSlim(_window, _window);
    }

    public async Task RunAsync(IAsyncStreamReader<SearchStreamRequest> requests)
    {
        using CancellationTokenRegistration callEnded =
            _context.CancellationToken.UnsafeRegister(static source => ((CancellationTokenSource)source!).Cancel(), _ended);
        CancellationToken ended = _ended.Token;
        Task writing = WriteAnswersAsync();
        try
        {
            while (true)
            {
                // A place first, then the message: a stream past its window is not read at all.
                await _places.WaitAsync(ended).ConfigureAwait(false);
                if (!await ReadAsync(requests, ended).ConfigureAwait(false))
                {
                    _places.Release();
                    break;
                }
                Dispatch(requests.Current);
            }
            // The caller has sent everything: every place back means every answer is sent.
            for (int i = 0; i < _window; i++)
                await _places.WaitAsync(ended).ConfigureAwait(false);
        }
        catch
        {
            // The caller cancelled, the deadline passed or a write failed: searches in flight give up, answers are dropped.
            await _ended.CancelAsync().ConfigureAwait(false);
            _answers.Writer.TryComplete();
            if (writing.IsFaulted)
                await writing.ConfigureAwait(false); // a failed write says more than the cancellation it caused
            throw;
        }
        _answers.Writer.TryComplete();
        await writing.ConfigureAwait(false);
    }

    /// <summary>The next message. One that cannot be read (not protobuf, or larger than --max-message-bytes) has no tag
    /// to answer under: it ends the stream with the status a unary call would end with, counted as a call of the
    /// stream's method as each search is.</summary>
    private async ValueTask<bool> ReadAsync(IAsyncStreamReader<SearchStreamRequest> requests, CancellationToken ended)
    {
        long start = Stopwatch.GetTimestamp();
        try
        {
            return await requests.MoveNext(ended).ConfigureAwait(false);
        }
        catch (RpcException e) when (!ended.IsCancellationRequested)
        {
            RpcException unreadable = e.StatusCode == StatusCode.ResourceExhausted
                // gRPC's own refusal names no limit
                ? new RpcException(new Status(StatusCode.ResourceExhausted,
                    $"a SearchStream message is larger than the server's --max-message-bytes ({_streams.Limits.MaxMessageBytes}): " +
                    "each message of a stream is held to it (the stream as a whole is not); send the search in smaller messages"))
                : e;
            _streams.Metrics.RecordCall(SearchStreams.MethodName, unreadable.StatusCode, Stopwatch.GetElapsedTime(start));
            throw unreadable;
        }
    }

    /// <summary>Where a search of the stream starts: on a pool thread, so that the stream's searches run side by side
    /// and the reader goes on reading. The one place that chooses the thread a stream search runs on.</summary>
    private void Dispatch(SearchStreamRequest request)
    {
        if (!_idle.TryDequeue(out StreamSearch? search))
            search = new StreamSearch(this);
        search.Request = request;
        ThreadPool.UnsafeQueueUserWorkItem(search, preferLocal: false);
    }

    /// <summary>A search handed to the thread pool. At most a window of them exist per stream: each goes back to
    /// <see cref="_idle"/> once its search is done, so dispatching allocates nothing once the window has been used.</summary>
    private sealed class StreamSearch(SearchStreamCall call) : IThreadPoolWorkItem
    {
        public SearchStreamRequest? Request;

        public void Execute()
        {
            SearchStreamRequest request = Request!;
            Request = null;
            call._idle.Enqueue(this);
            _ = call.SearchAsync(request);
        }
    }

    private async Task SearchAsync(SearchStreamRequest request)
    {
        long start = Stopwatch.GetTimestamp();
        var answer = new SearchStreamResponse { Tag = request.Tag };
        StatusCode status = StatusCode.OK;
        bool admitted = false;
        try
        {
            if (request.Search is null)
                throw RequestValidation.Invalid("search is missing: each SearchStreamRequest carries the SearchRequest to run");
            ValueTask entering = _streams.Admission.EnterAsync(_ended.Token);
            if (!entering.IsCompletedSuccessfully) await entering.ConfigureAwait(false);
            admitted = true;
            Task<SearchResponse> search = _service.Search(request.Search, _context);
            answer.Result = search.IsCompletedSuccessfully ? search.Result : await search.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_ended.IsCancellationRequested)
        {
            status = StatusCode.Cancelled;
            _places.Release(); // the stream has ended: no answer
            return;
        }
        catch (Exception e)
        {
            answer.Error = ToError(e);
            status = (StatusCode)answer.Error.Code;
        }
        finally
        {
            if (admitted) _streams.Admission.Exit();
            _streams.Metrics.RecordCall(SearchStreams.MethodName, status, Stopwatch.GetElapsedTime(start));
        }
        if (!_answers.Writer.TryWrite(answer))
            _places.Release(); // the stream has ended: nobody sends this answer
    }

    /// <summary>The status a unary Search would have ended with (<see cref="ErrorStatusInterceptor"/>'s mapping).</summary>
    private SearchError ToError(Exception e)
    {
        Status? status = e is RpcException rpc ? rpc.Status : ErrorStatusInterceptor.ToStatus(e, _context);
        if (status is { } known)
            return new SearchError { Code = (int)known.StatusCode, Message = known.Detail };
        _streams.Logger.LogError(e, "A search of a SearchStream failed");
        return new SearchError { Code = (int)StatusCode.Unknown, Message = "Exception was thrown by handler." };
    }

    private async Task WriteAnswersAsync()
    {
        try
        {
            await foreach (SearchStreamResponse answer in _answers.Reader.ReadAllAsync(_ended.Token).ConfigureAwait(false))
            {
                await _responses.WriteAsync(answer, _ended.Token).ConfigureAwait(false);
                _places.Release();
            }
        }
        catch
        {
            // Stop the reader: it may be waiting for a place this loop will never free.
            await _ended.CancelAsync().ConfigureAwait(false);
            throw;
        }
    }
}
