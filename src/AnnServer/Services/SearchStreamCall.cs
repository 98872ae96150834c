using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using AnnServer.Diagnostics;
using AnnServer.Protocol.V1;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace AnnServer.Services;

/// <summary>
/// One SearchStream call. A reader loop takes each request, waits for a place for the message (--max-stream-messages)
/// and for its searches in the stream's window (--max-stream-in-flight; a message of several searches waits for a place
/// for each) and dispatches its search or searches (those of one message run one after another on one thread under one
/// search slot, and are answered together); messages run concurrently, each on a pool thread, and put their
/// answer in a channel; one writer loop sends the answers as they come (IServerStreamWriter allows one write at a time)
/// and frees the message's places once its answer is sent. So at most --max-stream-messages messages and
/// --max-stream-in-flight searches of one stream are running, waiting for a search slot, or answered and not sent: past
/// either the reader stops reading, and HTTP/2 flow control stops the caller. A failed search is answered with its error; only what ends the call (the caller cancels,
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
    private readonly int _messageWindow;
    private readonly SemaphoreSlim _messages;
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
        _window = streams.Limits.EffectiveMaxStreamInFlight;
        _places = new SemaphoreSlim(_window, _window);
        _messageWindow = streams.Limits.MaxStreamMessages;
        _messages = new SemaphoreSlim(_messageWindow, _messageWindow);
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
                // Places first, then the message: a stream past its window is not read at all.
                await _messages.WaitAsync(ended).ConfigureAwait(false);
                await _places.WaitAsync(ended).ConfigureAwait(false);
                if (!await ReadAsync(requests, ended).ConfigureAwait(false))
                {
                    Release(1);
                    break;
                }
                SearchStreamRequest request = requests.Current;
                // A message of several searches holds a place for each, as that many messages of one would. It is judged
                // here, once: the places it holds depend on whether it is refused.
                SearchError? refusal = request.Searches.Count == 0 ? null : Refusal(request);
                for (int more = PlacesHeld(request, refusal) - 1; more > 0; more--)
                    await _places.WaitAsync(ended).ConfigureAwait(false);
                Dispatch(request, refusal);
            }
            // The caller has sent everything: every message's place back means every answer is sent.
            for (int i = 0; i < _messageWindow; i++)
                await _messages.WaitAsync(ended).ConfigureAwait(false);
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
    private void Dispatch(SearchStreamRequest request, SearchError? refusal)
    {
        if (!_idle.TryDequeue(out StreamSearch? search))
            search = new StreamSearch(this);
        search.Request = request;
        search.Refusal = refusal;
        ThreadPool.UnsafeQueueUserWorkItem(search, preferLocal: false);
    }

    /// <summary>A search handed to the thread pool. At most --max-stream-messages of them exist per stream: each goes back to
    /// <see cref="_idle"/> once its search is done, so dispatching allocates nothing once the window has been used.</summary>
    private sealed class StreamSearch(SearchStreamCall call) : IThreadPoolWorkItem
    {
        public SearchStreamRequest? Request;

        /// <summary>Why the reader refused the message (<see cref="Refusal(SearchStreamRequest)"/>), or null.</summary>
        public SearchError? Refusal;

        public void Execute()
        {
            SearchStreamRequest request = Request!;
            SearchError? refusal = Refusal;
            Request = null;
            Refusal = null;
            call._idle.Enqueue(this);
            _ = call.SearchAsync(request, refusal);
        }
    }

    /// <summary>The places of the window a message holds until its answer is written: one per search of a message of
    /// <c>searches</c> that will run, one for any other message (a single search, or one refused: its answer has no
    /// results, and the writer frees a place for each result, at least one).</summary>
    private static int PlacesHeld(SearchStreamRequest request, SearchError? refusal) =>
        request.Searches.Count > 1 && refusal is null ? request.Searches.Count : 1;

    private async Task SearchAsync(SearchStreamRequest request, SearchError? refusal)
    {
        var answer = new SearchStreamResponse { Tag = request.Tag };
        int held = PlacesHeld(request, refusal);
        if (request.Searches.Count == 0)
        {
            if (await RunAsync(request.Search).ConfigureAwait(false) is not { } one)
            {
                Release(held); // the stream has ended: no answer
                return;
            }
            if (one.Error is null) answer.Result = one.Result;
            else answer.Error = one.Error;
        }
        else if (refusal is not null)
        {
            answer.Error = refusal;
            _streams.Metrics.RecordCall(SearchStreams.MethodName, (StatusCode)refusal.Code, TimeSpan.Zero);
        }
        else
        {
            // One search slot for the whole message, as a SearchBatch takes one: its searches run back to back on this
            // thread. A slot for each let the other streams' searches in between whenever the slots were all taken
            // (8 streams of 8-search messages against 4 slots on 2 cores), so each search of a message waited in the
            // queue and went on on another thread.
            if (!await EnterAsync().ConfigureAwait(false))
            {
                Release(held);
                return;
            }
            try
            {
                answer.Results.Capacity = request.Searches.Count;
                for (int i = 0; i < request.Searches.Count; i++)
                {
                    ValueTask<Answered?> running = RunAsync(request.Searches[i], holdsSlot: true);
                    if ((running.IsCompletedSuccessfully ? running.Result : await running.ConfigureAwait(false)) is not { } one)
                    {
                        Release(held);
                        return;
                    }
                    answer.Results.Add(one.Error is null ? new SearchStreamResult { Result = one.Result } : new SearchStreamResult { Error = one.Error });
                }
            }
            finally
            {
                _streams.Admission.Exit();
            }
        }
        if (!_answers.Writer.TryWrite(answer))
            Release(held); // the stream has ended: nobody sends this answer
    }

    /// <summary>Frees the places of a message holding <paramref name="searches"/> places of the window.</summary>
    private void Release(int searches)
    {
        _places.Release(searches);
        _messages.Release();
    }

    /// <summary>Why a message of <c>searches</c> runs none of them, or null.</summary>
    private SearchError? Refusal(SearchStreamRequest request)
    {
        if (request.Search is not null)
            return new SearchError
            {
                Code = (int)StatusCode.InvalidArgument,
                Message = "search and searches are both set: a SearchStreamRequest carries one search or a list of them, not both",
            };
        if (request.Searches.Count > _window)
            return new SearchError
            {
                Code = (int)StatusCode.InvalidArgument,
                Message = $"searches has {request.Searches.Count} entries, at most {_window} are allowed in one message (the " +
                          "server's --max-stream-in-flight, the searches one stream may hold): send them in more messages",
            };
        // A message of searches is held as a SearchBatch is, and to the same bound: the window counts searches, not what
        // each holds (k hits, and a vector each with with_vector), and it is large (a SearchBatch's worth of queries).
        long held = 0;
        foreach (SearchRequest search in request.Searches)
            held += RequestValidation.HeldBytes(search.K, search.Query.Count, search.WithVector);
        if (held > _streams.Limits.MaxMessageBytes)
            return new SearchError
            {
                Code = (int)StatusCode.ResourceExhausted,
                Message = $"the {request.Searches.Count} searches of this message would hold about {held} bytes in the server " +
                          $"(4 bytes a query dimension, {RequestValidation.HeldBytesPerHit} a hit, and the vector of each with " +
                          $"with_vector), more than its --max-message-bytes ({_streams.Limits.MaxMessageBytes}), as a SearchBatch " +
                          "may hold: send fewer searches a message, or a smaller k",
            };
        return null;
    }

    /// <summary>One search's answer: its result, or the error a unary call would have ended with.</summary>
    private readonly record struct Answered(SearchResponse? Result, SearchError? Error);

    /// <summary>A search slot for a message of <c>searches</c>; false when the stream ended while it waited.</summary>
    private async ValueTask<bool> EnterAsync()
    {
        try
        {
            ValueTask entering = _streams.Admission.EnterAsync(_ended.Token);
            if (!entering.IsCompletedSuccessfully) await entering.ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (_ended.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Runs one search of the stream, admitted (unless its message <paramref name="holdsSlot"/> for it),
    /// counted and timed as a unary Search is; null when the stream ended meanwhile (nothing to answer).</summary>
    private async ValueTask<Answered?> RunAsync(SearchRequest? search, bool holdsSlot = false)
    {
        long start = Stopwatch.GetTimestamp();
        StatusCode status = StatusCode.OK;
        bool admitted = false;
        try
        {
            if (search is null)
                throw RequestValidation.Invalid("search is missing: each SearchStreamRequest carries the SearchRequest to run, or searches");
            if (!holdsSlot)
            {
                ValueTask entering = _streams.Admission.EnterAsync(_ended.Token);
                if (!entering.IsCompletedSuccessfully) await entering.ConfigureAwait(false);
                admitted = true;
            }
            Task<SearchResponse> running = _service.Search(search, _context);
            return new Answered(running.IsCompletedSuccessfully ? running.Result : await running.ConfigureAwait(false), null);
        }
        catch (OperationCanceledException) when (_ended.IsCancellationRequested)
        {
            status = StatusCode.Cancelled;
            return null;
        }
        catch (Exception e)
        {
            SearchError error = ToError(e);
            status = (StatusCode)error.Code;
            return new Answered(null, error);
        }
        finally
        {
            if (admitted) _streams.Admission.Exit();
            _streams.Metrics.RecordCall(SearchStreams.MethodName, status, Stopwatch.GetElapsedTime(start));
        }
    }

    /// <summary>The status a unary Search would have ended with (<see cref="ErrorStatus"/>'s mapping).</summary>
    private SearchError ToError(Exception e)
    {
        Status? status = e is RpcException rpc ? rpc.Status : ErrorStatus.ToStatus(e, _context);
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
                Release(Math.Max(1, answer.Results.Count)); // what PlacesHeld counted for its message
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
