%% count: a producer sends N increments to a counter, then asks for the total.
-module(count).
-export([run/1]).

run(Given) ->
    [{n, N}] = bench:params(count, [{n, 1000000}], Given),
    Main = self(),
    T0 = erlang:monotonic_time(),
    Counter = spawn(fun() -> counter(0) end),
    spawn(fun() -> producer(Counter, N, Main) end),
    Total = receive {total, T} -> T end,
    Secs = bench:seconds_since(T0),
    N = Total,
    bench:report("count", N / Secs, "msgs/s", io_lib:format("n=~b", [N])).

counter(C) ->
    receive
        inc -> counter(C + 1);
        {get, From} -> From ! {total, C}
    end.

producer(Counter, N, Main) ->
    send_incs(Counter, N),
    Counter ! {get, self()},
    receive {total, T} -> Main ! {total, T} end.

send_incs(_, 0) -> ok;
send_incs(Counter, K) -> Counter ! inc, send_incs(Counter, K - 1).
