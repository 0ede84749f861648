%% fanout: one sender, G receivers, every message to all of them.
-module(fanout).
-export([run/1]).

run(Given) ->
    [{g, G}, {m, M}] = bench:params(fanout, [{g, 16}, {m, 100000}], Given),
    Main = self(),
    Receivers = [spawn(fun() -> receiver(M, Main) end) || _ <- lists:seq(1, G)],
    T0 = erlang:monotonic_time(),
    spawn(fun() -> send(Receivers, 0, M) end),
    [receive done -> ok end || _ <- Receivers],
    Secs = bench:seconds_since(T0),
    bench:report("fanout", G * M / Secs, "deliveries/s", io_lib:format("g=~b,m=~b", [G, M])).

send(_, M, M) -> ok;
send(Receivers, I, M) ->
    [R ! {m, I} || R <- Receivers],
    send(Receivers, I + 1, M).

receiver(0, Main) -> Main ! done;
receiver(Left, Main) -> receive {m, _} -> receiver(Left - 1, Main) end.
