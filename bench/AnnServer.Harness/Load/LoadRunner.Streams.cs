using System.Collections.Concurrent;
using System.Diagnostics;
using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.Harness.Load;

/// <summary>
/// The closed loop over SearchStream: <see cref="LoadOptions.Concurrency"/> streams, each with a sender that keeps
/// <see cref="LoadOptions.StreamWindow"/> searches in flight (in messages of <see cref="LoadOptions.QueriesPerMessage"/>) and a receiver that matches each answer to its search by
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
        // A slot is a message in flight, of perMessage searches; the window counts searches.
        int perMessage = _options.QueriesPerMessage;
        int messages = Math.Max(1, window / perMessage);
        var queries = new int[messages * perMessage];
        var sentAt = new long[messages];
        var free = new ConcurrentQueue<int>(Enumerable.Range(0, messages));
        using var places = new SemaphoreSlim(messages, messages);
        // The stream lives as long as the run (its longest warm-up included), plus one request timeout for its last answers.
        DateTime deadline = DateTime.UtcNow + _options.Warmup + _options.WarmupSettleLimit + _options.Duration + _options.Timeout;
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
                long nanoseconds = (long)((Stopwatch.GetTimestamp() - since) * NanosecondsPerTick);
                if (answer.Results.Count > 0)
                {
                    for (int i = 0; i < answer.Results.Count; i++)
                        Count(answer.Results[i].Result, answer.Results[i].Error, queries[slot * perMessage + i], since, nanoseconds, measured);
                }
                else
                {
                    // One search's answer, or a message of several that ran none: each of its searches failed so.
                    int searches = answer.OutcomeCase == SearchStreamResponse.OutcomeOneofCase.Result ? 1 : perMessage;
                    for (int i = 0; i < searches; i++)
                        Count(answer.Result, answer.Error, queries[slot * perMessage + i], since, nanoseconds, measured);
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
                    var message = new SearchStreamRequest { Tag = (ulong)slot };
                    for (int i = 0; i < perMessage; i++)
                    {
                        int query = (int)((ulong)Interlocked.Increment(ref _nextQuery) % (ulong)_requests.Length);
                        queries[slot * perMessage + i] = query;
                        if (perMessage == 1) message.Search = _requests[query];
                        else message.Searches.Add(_requests[query]);
                    }
                    sentAt[slot] = now;
                    if (now >= _measureFrom) Interlocked.Add(ref _requestsSent, perMessage);
                    await call.RequestStream.WriteAsync(message, ended.Token);
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

    /// <summary>One search's answer in a stream: a success (its latency that of its message) or an error under its code.</summary>
    private void Count(SearchResponse? result, SearchError? error, int query, long since, long nanoseconds, bool measured)
    {
        if (result is not null)
        {
            Interlocked.Increment(ref _completedAll);
            if (!measured) return;
            _recorder.RecordValue(Math.Clamp(nanoseconds, 1, HighestTrackableNanoseconds));
            _timeline?.RecordSuccess(since, nanoseconds);
            Interlocked.Increment(ref _succeeded);
            KeepAnswer(query, result);
        }
        else if (measured)
        {
            _errors.AddOrUpdate((StatusCode)(error?.Code ?? (int)StatusCode.Unknown), 1, (_, n) => n + 1);
            _timeline?.RecordError(since);
        }
    }
}
