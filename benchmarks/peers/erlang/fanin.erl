%% fanin: K sender processes send M messages each to one process (K = 2, 4, 8 by default).
-module(fanin).
-export([run/1]).

run(Given) ->
    [{k, K0}, {m, M}] = bench:params(fanin, [{k, 0}, {m, 200000}], Given),
    Ks = case K0 of 0 -> [2, 4, 8]; _ -> [K0] end,
    [one(K, M) || K <- Ks],
    ok.

one(K, M) ->
    Main = self(),
    Sink = spawn(fun() -> sink(K * M, Main) end),
    Senders = [spawn(fun() -> receive go -> send(Sink, M) end end) || _ <- lists:seq(1, K)],
    T0 = erlang:monotonic_time(),
    [S ! go || S <- Senders],
    receive done -> ok end,
    Secs = bench:seconds_since(T0),
    bench:report("fanin", K * M / Secs, "msgs/s", io_lib:format("k=~b,m=~b", [K, M])).

send(_, 0) -> ok;
send(Sink, I) -> Sink ! {msg, I}, send(Sink, I - 1).

sink(0, Main) -> Main ! done;
sink(Left, Main) -> receive {msg, _} -> sink(Left - 1, Main) end.
