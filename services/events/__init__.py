"""The events service: the event log streamed to browsers over SSE.

(This docstring is written to be pasted into ARCHITECTURE.md as its events section.)

## Events: from the channel to N browsers

``subscription.py`` holds the process's one Redis subscription (channel
``wmi:events:live``); ``hub.py`` turns each event into its SSE frame once
(``frames.py``: ``id: <id>\\nevent: <type>\\ndata: <the JSON>\\n\\n``) and puts that one
frame into every client's bounded ``mailbox.py``; ``stream.py`` is one browser's
response, writing out whatever its mailbox holds. ``replay.py`` reads the log (stream
``wmi:events``) for clients that reconnect and for the subscription's own gaps.

What a browser receives besides events:

- ``retry: <1000..4000>`` first: how long to wait before reconnecting, different for
  each client so that thousands dropped at once do not come back in the same instant.
- ``: ping`` comments every ``WMI_SSE_HEARTBEAT`` seconds, from one timer per process.
- ``event: stream.gap`` with ``{"type": "stream.gap", "after": <id or null>}`` and no
  ``id:``, when some events after its Last-Event-ID are no longer in the bounded log (or
  its Last-Event-ID is unreadable): the page should reload its state; what the log still
  holds follows.
- 401 without a valid session, 503 when Redis is unreachable or the process is stopping.
  An EventSource does not retry after those: the page re-creates it (401: to login).

## The races, and how each is closed

**Replay against live.** A browser reconnecting with ``Last-Event-ID`` (header, or
``?last_event_id=``) must get every later event once, in order. Reading the log and then
subscribing loses what is published in between; subscribing and then reading sends twice
what is published during the read. So the client's mailbox is registered with the hub
*before* the log is read (and before the 200 goes out), the log is read with an
exclusive start (``XRANGE (id +``, in batches of 500), and live frames whose id is at or
below the last replayed id are dropped. This relies on publishing being one Lua script
(XADD then PUBLISH): the order on the channel is the order in the log, and every live
event carries its log id. Without Last-Event-ID a client gets live events from the moment
it is registered.

**Losing the subscription.** When Redis restarts, every event published while the
subscription is down would be lost for every client. The subscription reconnects with
exponential backoff (0.1 s to 5 s), and on every confirmed subscription (its own
reconnects and redis-py's silent ones alike) it first delivers from the log everything
after the last event it delivered, then live, dropping live events already delivered.
The very first time, the newest log id is read *before* subscribing, so the first fill
covers what was published while subscribing. Needs the log to survive the restart
(``appendonly``); if the log is lost, clients that reconnect are sent ``stream.gap``.

**A slow client.** A browser that does not read would make its queue, and the server's
memory, grow without bound. Each mailbox holds at most ``WMI_SSE_QUEUE_SIZE`` frames;
one more and it is closed: its frames are dropped at once, it leaves the hub, its
response is interrupted even while stuck in a send waiting for its socket, and the
stream ends (``connection: close``). The browser reconnects with the last id it
received and is replayed the rest. Fast clients never overflow on a burst: the hub lets
the clients write at least every ``min(64, queue_size // 4)`` frames.

**A closed tab.** A watcher on the request's ``receive`` closes the mailbox the moment
the browser disconnects, without waiting for the next write or heartbeat to fail.

**Stopping the server.** uvicorn waits for every response to end before the lifespan
shutdown, and a stream never ends by itself; the service watches uvicorn's exit flag and
ends every stream at once (``shutdown.py``).

**Reconnect storms.** Session checks and replays share a bounded pool of 32 Redis
connections (requests wait their turn), and the subscription has its own connection.

## Memory per client

A client costs its mailbox (a list, one future), the request's task, one disconnect
watcher task and uvicorn's connection: 12.6 KB of RSS per idle client measured at 4,000
clients and 13.1 KB at 10,000 (a bare ASGI app holding the connection: 9 KB).
sse-starlette's EventSourceResponse, which runs four tasks per client, measured 36.3 KB;
Starlette's StreamingResponse 18.9 KB. The stream path also bypasses Starlette's
middleware and router (``app.py``), whose suspended frames cost some 4 KB per client.

## Known limits

- A session ended (logout, account disabled) does not end streams already open; they
  see events until they reconnect.
- A client that stopped reading is disconnected by uvicorn with ``transport.close()``,
  which keeps that socket's unsent bytes until the peer reads or TCP gives up.
"""
