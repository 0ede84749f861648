%% Benchmark support for the Erlang peer: key=value parameters, printed defaults, and one
%% result line per measurement in the suite's shape. Run as:
%%   erl -noshell -pa DIR -run bench main WORKLOAD key=value ...
-module(bench).
-export([main/1, params/3, report/4, seconds_since/1, rss_bytes/0, peak_rss_bytes/0]).

main([Workload | Args]) ->
    Module = case Workload of
                 "spawn" -> spawn_actors;
                 "pg" -> pg_groups;
                 Other -> list_to_atom(Other)
             end,
    Params = [parse(A) || A <- Args],
    try
        Module:run(Params),
        halt(0)
    catch
        Class:Error:Stack ->
            io:format(standard_error, "erlang ~s: ~p:~p~n~p~n", [Workload, Class, Error, Stack]),
            halt(1)
    end.

parse(Arg) ->
    case string:split(Arg, "=") of
        [K, V] -> {list_to_atom(K), list_to_integer(V)};
        _ -> error({bad_parameter, Arg})
    end.

%% The workload's parameters with defaults; prints them to stderr as the C++ programs do.
params(Workload, Defaults, Given) ->
    [case lists:keymember(K, 1, Defaults) of
         true -> ok;
         false -> error({unknown_parameter, K})
     end || {K, _} <- Given],
    Values = [{K, proplists:get_value(K, Given, D)} || {K, D} <- Defaults],
    Shown = lists:flatten([io_lib:format(" ~s=~b", [K, V]) || {K, V} <- lists:sort(Values)]),
    io:format(standard_error, "# ~s:~s~n", [Workload, Shown]),
    Values.

report(Bench, Value, Unit, Params) ->
    io:format("runtime=erlang bench=~s value=~s unit=~s params=~s~n",
              [Bench, float_to_list(float(Value), [{decimals, 3}, compact]), Unit, Params]).

seconds_since(T0) ->
    erlang:convert_time_unit(erlang:monotonic_time() - T0, native, nanosecond) / 1.0e9.

rss_bytes() -> status_kb("VmRSS:") * 1024.
peak_rss_bytes() -> status_kb("VmHWM:") * 1024.

status_kb(Key) ->
    {ok, Bin} = file:read_file("/proc/self/status"),
    Lines = string:split(binary_to_list(Bin), "\n", all),
    [Line] = [L || L <- Lines, lists:prefix(Key, L)],
    [_, Kb | _] = string:lexemes(Line, " \t"),
    list_to_integer(Kb).
