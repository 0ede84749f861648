%% mesh: the same workload as coport's `mesh` (benchmarks/mesh.cpp): N = 2, 5, 10 Erlang
%% nodes (N OS processes, started by OTP's `peer` over standard_io, so the controlling
%% process is not part of the network) form a full mesh after each pings one seed node
%% (global's connect_all); then every node monitors a pg group (OTP's pg, `pg:monitor`),
%% one node joins it, and the clock runs until every node has seen the join. Start-up is
%% not timed: the clocks start when the running nodes are told to join.
-module(mesh).
-export([run/1, join_and_wait/2, watch/1, seen/0, enter/1, await_down/1]).

run(Given) ->
    [{max_n, MaxN}, {rounds, Rounds}, {large, Large}, {heartbeat_ms, HeartbeatMs}] =
        bench:params(mesh, [{max_n, 10}, {rounds, 5}, {large, 0}, {heartbeat_ms, 200}], Given),
    os:cmd("epmd -daemon -address 127.0.0.1"),
    Dir = filename:dirname(code:which(?MODULE)),
    case Large > 1 of
        true -> large(Large, HeartbeatMs, Dir);
        false -> ok
    end,
    [begin
         {Form, Converge} = lists:unzip([round(N, Dir, R) || R <- lists:seq(1, Rounds)]),
         Params = "n=" ++ integer_to_list(N),
         bench:report("mesh.form", median(Form), "ms", Params),
         bench:report("mesh.registry_converge", median(Converge), "ms", Params)
     end || N <- [2, 5, 10], N =< MaxN],
    ok.

round(N, Dir, R) ->
    Peers = [begin
                 Name = lists:flatten(io_lib:format("mesh_~b_~b_~b", [R, N, I])),
                 {ok, P, Node} = peer:start(#{name => Name, host => "127.0.0.1", longnames => true,
                                              connection => standard_io,
                                              args => ["-pa", Dir, "-kernel", "start_pg", "true"]}),
                 {P, Node}
             end || I <- lists:seq(1, N)],
    [{_, Seed} | _] = Peers,
    T0 = erlang:monotonic_time(),
    all([{P, join_and_wait, [case Node of Seed -> none; _ -> Seed end, N]} || {P, Node} <- Peers]),
    Form = bench:seconds_since(T0) * 1.0e3,
    all([{P, watch, [svc]} || {P, _} <- Peers]),
    {Last, _} = lists:last(Peers),
    T1 = erlang:monotonic_time(),
    ok = peer:call(Last, ?MODULE, enter, [svc]),
    all([{P, seen, []} || {P, _} <- Peers]),
    Converge = bench:seconds_since(T1) * 1.0e3,
    [peer:stop(P) || {P, _} <- Peers],
    {Form, Converge}.

%% Calls every {Peer, Function, Args} at once; returns when all answered ok.
all(Calls) ->
    Self = self(),
    Refs = [begin
                Ref = make_ref(),
                spawn_link(fun() -> Self ! {Ref, peer:call(P, ?MODULE, F, A, 60000)} end),
                Ref
            end || {P, F, A} <- Calls],
    [receive {Ref, ok} -> ok end || Ref <- Refs],
    ok.

median(Values) -> lists:nth(length(Values) div 2 + 1, lists:sort(Values)).

%% On a peer: ping the seed (unless it is the seed), then wait until linked to N-1 nodes.
join_and_wait(Seed, N) ->
    ok = net_kernel:monitor_nodes(true),
    case Seed of
        none -> ok;
        _ -> pong = net_adm:ping(Seed)
    end,
    wait_nodes(N - 1).

wait_nodes(Want) ->
    case length(nodes()) >= Want of
        true -> ok;
        false -> receive {nodeup, _} -> wait_nodes(Want) after 60000 -> timeout end
    end.

%% On a peer: a process that monitors the group and remembers when a member appears.
watch(Group) ->
    Caller = self(),
    Pid = spawn(fun() ->
                        {Ref, Members} = pg:monitor(Group),
                        Caller ! watching,
                        case Members of
                            [] -> receive {Ref, join, Group, _} -> ok end;
                            _ -> ok
                        end,
                        receive {get, From} -> From ! seen end
                end),
    register(mesh_watcher, Pid),
    receive watching -> ok end.

seen() ->
    mesh_watcher ! {get, self()},
    receive seen -> ok end.

enter(Group) ->
    Caller = self(),
    spawn(fun() -> ok = pg:join(Group, self()), Caller ! joined, receive stop -> ok end end),
    receive joined -> ok end.

%% The large run (coport's large_mesh): one full mesh of N nodes whose ticks come as often as
%% coport's heartbeats (net_ticktime is four tick intervals: a node silent for it is down, as
%% coport's timeout is three heartbeats); the time to form, pg's convergence, each node's
%% memory and idle CPU (from /proc), and the time until every other node saw a node killed
%% with SIGKILL.
large(N, HeartbeatMs, Dir) ->
    Params = lists:flatten(io_lib:format("n=~b,heartbeat=~bms", [N, HeartbeatMs])),
    TickTime = integer_to_list(max(1, (4 * HeartbeatMs + 999) div 1000)),
    Peers = [begin
                 Name = lists:flatten(io_lib:format("large_~b_~b", [N, I])),
                 {ok, P, Node} = peer:start(#{name => Name, host => "127.0.0.1", longnames => true,
                                              connection => standard_io,
                                              args => ["-pa", Dir, "-kernel", "start_pg", "true",
                                                       "-kernel", "net_ticktime", TickTime]}),
                 {P, Node}
             end || I <- lists:seq(1, N)],
    [{_, Seed} | _] = Peers,
    T0 = erlang:monotonic_time(),
    all([{P, join_and_wait, [case Node of Seed -> none; _ -> Seed end, N]} || {P, Node} <- Peers]),
    bench:report("mesh.form", bench:seconds_since(T0) * 1.0e3, "ms", Params),
    all([{P, watch, [svc]} || {P, _} <- Peers]),
    {Last, _} = lists:last(Peers),
    T1 = erlang:monotonic_time(),
    ok = peer:call(Last, ?MODULE, enter, [svc]),
    all([{P, seen, []} || {P, _} <- Peers]),
    bench:report("mesh.registry_converge", bench:seconds_since(T1) * 1.0e3, "ms", Params),
    Pids = [peer:call(P, os, getpid, []) || {P, _} <- Peers],
    timer:sleep(2000),
    C0 = [cpu_ticks(Pid) || Pid <- Pids],
    T2 = erlang:monotonic_time(),
    timer:sleep(5000),
    C1 = [cpu_ticks(Pid) || Pid <- Pids],
    Secs = bench:seconds_since(T2),
    Cpu = [(B - A) / 100 / Secs * 100 || {A, B} <- lists:zip(C0, C1)],
    Rss = [status_kb(Pid, "VmRSS:") / 1024 || Pid <- Pids],
    Anon = [status_kb(Pid, "RssAnon:") / 1024 || Pid <- Pids],
    bench:report("mesh.node_bytes", median(Rss), "MiB", Params ++ ",median"),
    bench:report("mesh.node_bytes", median(Anon), "MiB", Params ++ ",median,anonymous"),
    bench:report("mesh.idle_cpu", median(Cpu), "%core", Params ++ ",median,per node"),
    bench:report("mesh.idle_cpu", lists:sum(Cpu), "%core", Params ++ ",all nodes"),
    [{_, Victim} | Others] = Peers,
    [VictimPid | _] = Pids,
    Self = self(),
    Waiters = [spawn_link(fun() -> Self ! {self(), peer:call(P, ?MODULE, await_down, [Victim], 120000)} end)
               || {P, _} <- Others],
    timer:sleep(500),  % every waiter monitors the victim
    T3 = erlang:monotonic_time(),
    os:cmd("kill -9 " ++ VictimPid),
    [receive {W, ok} -> ok end || W <- Waiters],
    bench:report("mesh.detect_killed", bench:seconds_since(T3) * 1.0e3, "ms", Params ++ ",last of n-1"),
    [catch peer:stop(P) || {P, _} <- Others],
    ok.

%% On a peer: returns once `Node` is down.
await_down(Node) ->
    erlang:monitor_node(Node, true),
    receive {nodedown, Node} -> ok end.

cpu_ticks(Pid) ->
    {ok, Stat} = file:read_file("/proc/" ++ Pid ++ "/stat"),
    [_, AfterComm] = binary:split(Stat, <<") ">>),
    Fields = string:lexemes(binary_to_list(AfterComm), " "),
    list_to_integer(lists:nth(12, Fields)) + list_to_integer(lists:nth(13, Fields)).

status_kb(Pid, Key) ->
    {ok, Status} = file:read_file("/proc/" ++ Pid ++ "/status"),
    [Line] = [L || L <- string:lexemes(binary_to_list(Status), "\n"), lists:prefix(Key, L)],
    [_, Kb | _] = string:lexemes(Line, " \t"),
    list_to_integer(Kb).
