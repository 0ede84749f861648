%% remote: two Erlang nodes (two OS processes) over distribution on loopback, the same
%% workloads as coport's `remote`: ping-pong (small and 4 KiB), a one-way stream acked every
%% 10^4 (small: msgs/s, 4 KiB: MB/s), and gen_server-style calls at low load (p50, p99).
%% The other node is started with OTP's `peer` module (a second `erl`, same code path).
-module(remote).
-export([run/1, pong/0, sink/0]).

-define(ACK_EVERY, 10000).

run(Given) ->
    [{big, Big}, {cal, Cals}, {n, N}, {stream, Stream}] =
        bench:params(remote, [{big, 50000}, {cal, 5000}, {n, 20000}, {stream, 2000000}], Given),
    os:cmd("epmd -daemon -address 127.0.0.1"),
    Host = "127.0.0.1",
    {ok, _} = net_kernel:start([list_to_atom("bench_a@" ++ Host), longnames]),
    {ok, Peer, Node} = peer:start_link(#{name => "bench_b", host => Host, longnames => true,
                                         args => ["-pa", filename:dirname(code:which(?MODULE))]}),
    Pong = spawn(Node, ?MODULE, pong, []),
    Sink = spawn(Node, ?MODULE, sink, []),
    bench:report("remote.pingpong", pingpong(Pong, <<>>, N), "us", "size=small"),
    bench:report("remote.pingpong", pingpong(Pong, binary:copy(<<5>>, 4096), N), "us",
                 "size=4KiB"),
    bench:report("remote.stream", stream(Sink, small, Stream), "msgs/s", "size=small"),
    bench:report("remote.stream", stream(Sink, binary:copy(<<3>>, 4096), Big) * 4096 / 1.0e6,
                 "MB/s", "size=4KiB"),
    {P50, P99} = calls(Pong, Cals),
    bench:report("remote.cal", P50, "us", "p50"),
    bench:report("remote.cal", P99, "us", "p99"),
    peer:stop(Peer).

%% Round trips from this process; the first tenth (at most 1000) warms up.
pingpong(Pong, Blob, N) ->
    Warm = min(N div 10, 1000),
    ping(Pong, Blob, 0, Warm),
    T0 = erlang:monotonic_time(),
    ping(Pong, Blob, 0, N),
    bench:seconds_since(T0) / N * 1.0e6.

ping(_Pong, _Blob, N, N) -> ok;
ping(Pong, Blob, I, N) ->
    Pong ! {ping, self(), I, Blob},
    receive {pong, I} -> ping(Pong, Blob, I + 1, N) end.

pong() ->
    receive
        {ping, From, I, _Blob} -> From ! {pong, I}, pong();
        {call, From, Ref, I} -> From ! {Ref, I}, pong();
        stop -> ok
    end.

%% One-way messages, at most two ack windows in flight.
stream(Sink, Blob, Count) ->
    T0 = erlang:monotonic_time(),
    Sent0 = send_window(Sink, Blob, 0, Count),
    Sent1 = send_window(Sink, Blob, Sent0, Count),
    wait_acks(Sink, Blob, Sent1, Count),
    Count / bench:seconds_since(T0).

send_window(Sink, Blob, Sent, Count) ->
    End = min(Count, Sent + ?ACK_EVERY),
    send_range(Sink, Blob, Sent, End),
    case End of
        Count -> Sink ! {fin, self(), Count - 1};
        _ -> ok
    end,
    End.

send_range(_Sink, _Blob, End, End) -> ok;
send_range(Sink, small, I, End) -> Sink ! {n, self(), I}, send_range(Sink, small, I + 1, End);
send_range(Sink, Blob, I, End) -> Sink ! {b, self(), I, Blob}, send_range(Sink, Blob, I + 1, End).

wait_acks(Sink, Blob, Sent, Count) ->
    receive
        {ack, Acked} when Acked + 1 >= Count -> ok;
        {ack, _} when Sent < Count -> wait_acks(Sink, Blob, send_window(Sink, Blob, Sent, Count), Count);
        {ack, _} -> wait_acks(Sink, Blob, Sent, Count)
    end.

sink() ->
    receive
        {n, From, I} -> ack(From, I), sink();
        {b, From, I, _} -> ack(From, I), sink();
        {fin, From, Last} -> From ! {ack, Last}, sink()
    end.

ack(From, I) when (I + 1) rem ?ACK_EVERY =:= 0 -> From ! {ack, I};
ack(_, _) -> ok.

%% A request and its reply from this process, one at a time.
calls(Pong, Count) ->
    Times = lists:sort([call_us(Pong, I) || I <- lists:seq(1, Count)]),
    {lists:nth(max(1, Count div 2), Times), lists:nth(max(1, Count * 99 div 100), Times)}.

call_us(Pong, I) ->
    T0 = erlang:monotonic_time(),
    Ref = make_ref(),
    Pong ! {call, self(), Ref, I},
    receive {Ref, I} -> ok end,
    bench:seconds_since(T0) * 1.0e6.
