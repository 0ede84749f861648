%% spawn: the main process creates N processes that each handle one message and finish
%% (Savina fjcreate); then the memory of IDLE processes waiting in receive.
%% n=0 or idle=0 skips that part.
-module(spawn_actors).
-export([run/1]).

run(Given) ->
    [{idle, Idle}, {n, N}] = bench:params(spawn, [{idle, 100000}, {n, 1000000}], Given),
    case N of 0 -> ok; _ -> rate(N) end,
    case Idle of 0 -> ok; _ -> idle(Idle) end.

rate(N) ->
    Main = self(),
    Done = atomics:new(1, []),
    T0 = erlang:monotonic_time(),
    spawn_n(N, fun() ->
                       receive go ->
                               case atomics:add_get(Done, 1, 1) of
                                   N -> Main ! done;
                                   _ -> ok
                               end
                       end
               end),
    receive done -> ok end,
    Secs = bench:seconds_since(T0),
    P = io_lib:format("n=~b", [N]),
    %% The spawner is a process, so this is also the spawn-from-an-actor figure.
    [begin
         bench:report(Name, N / Secs, "actors/s", P),
         bench:report(Name ++ ".peak_rss", bench:peak_rss_bytes() / 1048576, "MiB", P)
     end || Name <- ["spawn", "spawn.from_actor"]],
    ok.

spawn_n(0, _) -> ok;
spawn_n(K, F) -> spawn(F) ! go, spawn_n(K - 1, F).

idle(Idle) ->
    Before = bench:rss_bytes(),
    Pids = [spawn(fun() -> receive never -> ok end end) || _ <- lists:seq(1, Idle)],
    After = bench:rss_bytes(),
    bench:report("spawn.idle_bytes", (After - Before) / Idle, "bytes/actor",
                 io_lib:format("idle=~b", [Idle])),
    [exit(P, kill) || P <- Pids],
    ok.
