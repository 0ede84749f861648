%% selective: K non-matching messages wait in the mailbox ahead of each matching one; the
%% cost of one selective receive (with the request that brings the match and its ack).
-module(selective).
-export([run/1]).

run(Given) ->
    [{iterations, I}, {k, K}] = bench:params(selective, [{iterations, 200000}, {k, 0}], Given),
    Main = self(),
    Selector = spawn(fun() -> selector(K, I) end),
    spawn(fun() -> driver(Selector, I, Main) end),
    T0 = receive {started, T} -> T end,
    receive done -> ok end,
    Secs = bench:seconds_since(T0),
    bench:report("selective", Secs / I * 1.0e9, "ns/receive",
                 io_lib:format("k=~b,iterations=~b", [K, I])).

selector(K, I) ->
    Driver = receive {driver, D} -> D end,
    [self() ! {junk, J} || J <- lists:seq(1, K)],
    Driver ! ready,
    serve(Driver, I).

serve(_, 0) -> ok;
serve(Driver, I) ->
    receive match -> Driver ! ack end,
    serve(Driver, I - 1).

driver(Selector, I, Main) ->
    Selector ! {driver, self()},
    receive ready -> ok end,
    Main ! {started, erlang:monotonic_time()},
    drive(Selector, I),
    Main ! done.

drive(_, 0) -> ok;
drive(Selector, I) ->
    Selector ! match,
    receive ack -> ok end,
    drive(Selector, I - 1).
