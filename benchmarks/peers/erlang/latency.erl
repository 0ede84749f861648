%% latency: a request to a process that replies, spaced by gap_us so that the schedulers go
%% idle; then the CPU time the idle VM uses (from /proc/self/stat).
-module(latency).
-export([run/1]).

run(Given) ->
    [{gap_us, Gap}, {idle_ms, IdleMs}, {n, N}] =
        bench:params(latency, [{gap_us, 1000}, {idle_ms, 1000}, {n, 2000}], Given),
    Server = spawn(fun server/0),
    Us = lists:sort([one(Server, Gap) || _ <- lists:seq(1, N)]),
    P = io_lib:format("n=~b,gap_us=~b", [N, Gap]),
    bench:report("latency.p50", lists:nth(N div 2 + 1, Us), "us", P),
    bench:report("latency.p99", lists:nth(N * 99 div 100 + 1, Us), "us", P),
    Before = cpu_seconds(),
    timer:sleep(IdleMs),
    Used = cpu_seconds() - Before,
    bench:report("idle_cpu", Used / (IdleMs / 1000) * 100, "%core",
                 io_lib:format("idle_ms=~b", [IdleMs])).

one(Server, Gap) ->
    T0 = erlang:monotonic_time(),
    Server ! {req, self()},
    receive rep -> ok end,
    Us = erlang:convert_time_unit(erlang:monotonic_time() - T0, native, nanosecond) / 1000,
    busy_sleep_us(Gap),
    Us.

busy_sleep_us(Gap) -> timer:sleep(max(1, Gap div 1000)).

server() ->
    receive {req, From} -> From ! rep, server() end.

cpu_seconds() ->
    {ok, Bin} = file:read_file("/proc/self/stat"),
    Fields = string:lexemes(lists:last(string:split(binary_to_list(Bin), ")")), " "),
    %% After the ")" of the command name: state is field 1, utime 12, stime 13.
    (list_to_integer(lists:nth(12, Fields)) + list_to_integer(lists:nth(13, Fields))) / 100.
