%% pingpong: two processes bounce a message N times.
-module(pingpong).
-export([run/1]).

run(Given) ->
    [{n, N}] = bench:params(pingpong, [{n, 1000000}], Given),
    Main = self(),
    T0 = erlang:monotonic_time(),
    Pong = spawn(fun pong/0),
    spawn(fun() -> ping(Pong, 0, N), Main ! done end),
    receive done -> ok end,
    Secs = bench:seconds_since(T0),
    Pong ! stop,
    P = io_lib:format("n=~b", [N]),
    bench:report("pingpong", 2 * N / Secs, "msgs/s", P),
    bench:report("pingpong.rtt", Secs / N * 1.0e9, "ns", P).

pong() ->
    receive
        {ping, From, I} -> From ! {pong, I}, pong();
        stop -> ok
    end.

ping(_Pong, N, N) -> ok;
ping(Pong, I, N) ->
    Pong ! {ping, self(), I},
    receive {pong, I} -> ping(Pong, I + 1, N) end.
