%% threadring: a token passes T times around a ring of R processes.
-module(threadring).
-export([run/1]).

run(Given) ->
    [{r, R}, {t, T}] = bench:params(threadring, [{r, 503}, {t, 1000000}], Given),
    Main = self(),
    Ring = [spawn(fun() -> receive {next, Next} -> member(Next, Main) end end)
            || _ <- lists:seq(1, R)],
    Nexts = tl(Ring) ++ [hd(Ring)],
    [P ! {next, N} || {P, N} <- lists:zip(Ring, Nexts)],
    T0 = erlang:monotonic_time(),
    hd(Ring) ! {token, T},
    receive done -> ok end,
    Secs = bench:seconds_since(T0),
    [exit(P, kill) || P <- Ring],
    bench:report("threadring", T / Secs, "msgs/s", io_lib:format("r=~b,t=~b", [R, T])).

member(Next, Main) ->
    receive
        {token, 0} -> Main ! done, member(Next, Main);
        {token, Left} -> Next ! {token, Left - 1}, member(Next, Main)
    end.
