using System.Collections.Concurrent;
using System.Diagnostics;
using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.Harness.Load;

/// <summary>
/// The closed loop over SearchStream: <see cref="LoadOptions.Concurrency"/> streams, each with a sender that keeps
/// <see cref="LoadOptions.StreamWindow"/> searches in flight and a receiver that matches each answer to its search by
/// its tag (a slot of the window, free again once answered). A search's latency runs from its send to its answer, as a
/// unary call's does. A search answered with an error counts under its status code; a stream that ends with an error
/// counts once under that code, and its searches still in flight are lost.
/// </summary>
public sealed partial class LoadRunner
{
    private async Task RunStreamsAsync(int window, CancellationToken cancellationToken)
    {
        var streams = new Task[_options.Concurrency];
        for (int s = 0; s < streams.Length; s++)
            streams[s] = Task.Run(() => RunStreamAsync(window, cancellationToken), CancellationToken.None);
        await Task.WhenAll(streams);
    }

    private async Task RunStreamAsync(int window, CancellationToken cancellationToken)
    {
        var queries = new int[window];
        var sentAt = new long[window];
        var free = new ConcurrentQueue<int>(Enumerable.Range(0, window));
        using var places = new SemaphoreSlim(window, window);
        // The stream lives as long as the run, plus one request timeout for its last answers.
        DateTime deadline = DateTime.UtcNow + _options.Warmup + _options.Duration + _options.Timeout;
        using AsyncDuplexStreamingCall<SearchStreamRequest, SearchStreamResponse> call =
            _client.SearchStream(deadline: deadline, cancellationToken: cancellationToken);
        // Cancelled when the receiver stops, so that a sender waiting for a place learns the stream has ended.
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);

        async Task ReceiveAsync()
        {
            try
            {
                await ReceiveAnswersAsync();
            }
            finally
            {
                await ended.CancelAsync();
            }
        }

        async Task ReceiveAnswersAsync()
        {
            await foreach (SearchStreamResponse answer in call.ResponseStream.ReadAllAsync(cancellationToken))
            {
                int slot = (int)answer.Tag;
                long since = sentAt[slot];
                bool measured = since >= _measureFrom && since < _measureUntil;
                if (answer.OutcomeCase == SearchStreamResponse.OutcomeOneofCase.Result)
                {
                    long elapsed = Stopwatch.GetTimestamp() - since;
                    Interlocked.Increment(ref _completedAll);
                    if (measured)
                    {
                        long nanoseconds = (long)(elapsed * NanosecondsPerTick);
                        _recorder.RecordValue(Math.Clamp(nanoseconds, 1, HighestTrackableNanoseconds));
                        _timeline?.RecordSuccess(since, nanoseconds);
                        Interlocked.Increment(ref _succeeded);
                        KeepAnswer(queries[slot], answer.Result);
                    }
                }
                else if (measured)
                {
                    _errors.AddOrUpdate((StatusCode)answer.Error.Code, 1, (_, n) => n + 1);
                    _timeline?.RecordError(since);
                }
                free.Enqueue(slot);
                places.Release();
            }
        }

        Task receiving = ReceiveAsync();
        try
        {
            try
            {
                while (true)
                {
                    await places.WaitAsync(ended.Token);
                    long now = Stopwatch.GetTimestamp();
                    if (now >= _measureUntil) break;
                    free.TryDequeue(out int slot);
                    int query = (int)((ulong)Interlocked.Increment(ref _nextQuery) % (ulong)_requests.Length);
                    queries[slot] = query;
                    sentAt[slot] = now;
                    if (now >= _measureFrom) Interlocked.Increment(ref _requestsSent);
                    await call.RequestStream.WriteAsync(new SearchStreamRequest { Tag = (ulong)slot, Search = _requests[query] }, ended.Token);
                }
                await call.RequestStream.CompleteAsync();
            }
            catch (Exception) when (ended.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                // The receiver stopped first: its exception, awaited below, says why.
            }
            await receiving;
        }
        catch (RpcException e) when (!(e.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested))
        {
            _errors.AddOrUpdate(e.StatusCode, 1, (_, n) => n + 1);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The run was stopped: not an error of the server.
        }
    }
}
