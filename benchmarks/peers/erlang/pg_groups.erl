%% pg: the design of Erlang's original pg module (a master process per group that stamps
%% every message with a sequence number and forwards it to every member), measured like
%% coport's `pg` workload:
%% - pg.ordered_broadcast: G members, S senders sending M messages each, one node;
%% - pg.remote_ordered_broadcast: the master and the senders here, RG members on a second
%%   node (a second `erl` through OTP's `peer`), one message per member over distribution.
%% Erlang's pg has no master failover, so there is no pg.failover row.
-module(pg_groups).
-export([run/1, member/3]).

run(Given) ->
    [{failover, _}, {g, G}, {m, M}, {remote_g, RG}, {senders, S}, {threads, _}] =
        bench:params(pg, [{failover, 1}, {g, 16}, {m, 25000}, {remote_g, 8}, {senders, 4},
                          {threads, 0}], Given),
    Total = S * M,
    Params = io_lib:format("g=~b,senders=~b,m=~b", [G, S, M]),
    bench:report("pg.ordered_broadcast", G * Total / broadcast(node(), G, S, M), "deliveries/s",
                 Params),
    os:cmd("epmd -daemon -address 127.0.0.1"),
    Host = "127.0.0.1",
    {ok, _} = net_kernel:start([list_to_atom("bench_pg_a@" ++ Host), longnames]),
    {ok, Peer, Node} = peer:start_link(#{name => "bench_pg_b", host => Host, longnames => true,
                                         args => ["-pa", filename:dirname(code:which(?MODULE))]}),
    bench:report("pg.remote_ordered_broadcast", RG * Total / broadcast(Node, RG, S, M),
                 "deliveries/s", io_lib:format("remote_g=~b,senders=~b,m=~b", [RG, S, M])),
    peer:stop(Peer).

%% Seconds for S senders' M messages each to reach all G members (on node Where).
broadcast(Where, G, S, M) ->
    Main = self(),
    Master = spawn(fun() -> master(0, []) end),
    Members = [spawn(Where, ?MODULE, member, [S * M, Main, 0]) || _ <- lists:seq(1, G)],
    [begin Master ! {join, P, self()}, receive joined -> ok end end || P <- Members],
    T0 = erlang:monotonic_time(),
    [spawn(fun() -> sender(Master, M) end) || _ <- lists:seq(1, S)],
    [receive done -> ok end || _ <- Members],
    Secs = bench:seconds_since(T0),
    exit(Master, kill),
    Secs.

master(Seq, Members) ->
    receive
        {join, P, From} -> From ! joined, master(Seq, Members ++ [P]);
        {send, From, Msg} ->
            [P ! {pg_message, From, bench, Seq, Msg} || P <- Members],
            master(Seq + 1, Members)
    end.

sender(_Master, 0) -> ok;
sender(Master, Left) ->
    Master ! {send, self(), Left},
    sender(Master, Left - 1).

member(Total, Main, Total) -> Main ! done;
member(Total, Main, Got) ->
    receive {pg_message, _, _, _, _} -> member(Total, Main, Got + 1) end.
