import XCTest

/// Scripted interactions (etcd raft `testdata` style), replayed by `RaftScript`. Each script
/// also runs under the cluster checkers (election safety, log matching, persisted-before-sent,
/// commit monotonicity, state machine safety), so a checker failure fails the script.
final class RaftScriptTests: XCTestCase {
    func run(_ script: String, file: StaticString = #filePath, line: UInt = #line) {
        for f in RaftScript.run(script) {
            XCTFail("\(f)", file: file, line: line)
        }
    }

    func testElectionAndReplication() {
        run("""
        # three nodes; n1 times out first and wins
        nodes 1 2 3
        campaign 1
        expect role 1 = pre-candidate
        expect term 1 2 3 = 0          # pre-vote (§9.6) does not touch terms
        deliver-all
        expect leader 1 term 1
        expect leaders 1
        expect leader-of 1 2 3 = 1
        expect vote 2 3 = 1
        expect log 1 2 3 = 1           # the leader's no-op
        expect commit 1 2 3 = 1
        propose 1 "create orders" -> 2
        propose 2 "nope" -> none       # followers do not take proposals; the driver forwards
        deliver-all
        expect commit 1 2 3 = 2
        expect applied 1 2 3 = create orders
        """)
    }

    func testSingleNodeElectsItself() {
        run("""
        nodes 1
        campaign 1
        expect leader 1 term 1
        propose 1 "x" -> 2
        expect commit 1 = 2
        expect applied 1 = x
        """)
    }

    func testReElectionAfterLeaderIsolation() {
        run("""
        nodes 1 2 3
        campaign 1
        deliver-all
        expect leader 1 term 1
        partition 1 | 2 3
        run 60
        expect role 1 = pre-candidate  # check-quorum deposed it; pre-votes cannot reach anyone
        expect term 1 = 1              # so its term stayed put
        expect leader-among 2 3
        expect term 2 3 > 1
        propose 1 "lost" -> none
        heal
        run 5
        expect leader-among 2 3        # n1 rejoins as a follower
        expect same-log 1 2 3
        expect commit 1 2 3 = 2
        """)
    }

    func testPreVoteKeepsRejoiningNodeFromDisrupting() {
        run("""
        nodes 1 2 3
        campaign 1
        deliver-all
        expect leader 1 term 1
        partition 1 2 | 3
        run 50                         # n3 times out over and over
        expect role 3 = pre-candidate
        expect term 3 = 1              # but never bumps its term: nobody answered its pre-votes
        propose 1 "while away" -> 2
        run 1
        expect commit 1 2 = 2
        heal
        run 30
        expect leader 1 term 1         # the healthy leader was not deposed
        expect term 1 2 3 = 1
        expect commit 1 2 3 = 2
        """)
        // The same story without pre-vote: the rejoining node's inflated term deposes the leader.
        run("""
        nodes 1 2 3 prevote=off checkquorum=off
        campaign 1
        deliver-all
        expect leader 1 term 1
        partition 1 2 | 3
        run 50
        expect term 3 > 2
        propose 1 "while away" -> 2
        run 1
        heal
        run 30
        expect term 1 2 3 > 2
        expect leader-among 1 2        # n3's log is behind (§5.4.1), so it cannot win
        """)
    }

    func testPreVoteRejectedWhileLeaderIsHeard() {
        run("""
        # n2's pre-vote reaches n3, which hears from leader n1: refused (thesis §9.6, §4.2.3)
        nodes 1 2 3
        campaign 1
        deliver-all
        expect leader 1 term 1
        campaign 2
        expect role 2 = pre-candidate
        deliver 2->* prevote
        expect pending *->2 prevote-resp = 2
        deliver *->2
        expect role 2 = follower       # refused by both: n3 hears n1, n1 is the leader
        expect leader 1 term 1
        expect term 1 2 3 = 1
        """)
    }

    func testCheckQuorumStepDown() {
        run("""
        nodes 1 2 3
        campaign 1
        deliver-all
        expect leader 1 term 1
        partition 1 | 2 3
        tick 1 x10
        expect role 1 = leader         # this check-quorum round still saw n2 and n3
        tick 1 x9
        expect role 1 = leader
        tick 1                         # a whole election timeout without a quorum (§6.2)
        expect role 1 = follower
        expect leader-of 1 = none
        expect term 1 = 1
        """)
        run("""
        # without check-quorum the isolated leader keeps believing it leads
        nodes 1 2 3 checkquorum=off
        campaign 1
        deliver-all
        partition 1 | 2 3
        tick 1 x100
        expect leader 1 term 1
        """)
    }

    func testFigure8OldTermEntryNeedsCurrentTermCommit() {
        run("""
        # Paper §5.4.2 / Figure 8: an entry from an earlier term stored on a majority is not
        # committed by counting replicas; only an entry of the leader's current term is.
        nodes 1 2 3 max-append=1 prevote=off checkquorum=off
        campaign 1
        deliver-all
        expect leader 1 term 1
        expect commit 1 2 3 = 1
        propose 1 "a" -> 2
        drop all                       # index 2 (term 1) lives only on n1
        crash 1
        restart 1
        partition 1 2 | 3
        campaign 1
        expect role 1 = candidate
        expect term 1 = 2
        deliver                        # n2 grants
        deliver                        # n1 wins term 2, appends its no-op (3@2), probes n2 at 2@1
        expect leader 1 term 2
        expect log 1 = 1 1 2
        deliver                        # n2 lacks index 2: rejects, hint 1
        deliver                        # n1 retries with entry 2@1 alone (max-append=1)
        deliver                        # n2 stores it
        expect log 2 = 1 1
        deliver                        # n1 learns 2@1 is on a majority (n1, n2) ...
        expect commit 1 = 1            # ... and still does not commit it: it is from term 1
        deliver-all                    # 3@2 reaches n2
        expect commit 1 2 = 3          # committing 3@2 commits 2@1 with it
        expect applied 1 2 = a
        """)
    }

    func testConflictingEntriesAreTruncated() {
        run("""
        nodes 1 2 3 prevote=off checkquorum=off
        campaign 1
        deliver-all
        expect leader 1 term 1
        partition 1 | 2 3
        propose 1 "a" -> 2
        propose 1 "b" -> 3             # stranded on the isolated old leader
        campaign 2
        deliver-all
        expect leader 2 term 2
        propose 2 "c" -> 3
        deliver-all
        expect commit 2 3 = 3
        heal
        expect leader 1 term 1         # n1 still thinks it leads term 1
        propose 1 "d" -> 4
        deliver-all                    # n2, n3 answer the stale append with term 2
        expect role 1 = follower
        expect term 1 = 2
        expect log 1 = 1 1 1 1
        tick 2                         # heartbeat; n1's response makes n2 probe it
        deliver-all
        expect truncated 1 from 2      # the driver is told to cut its stored log (§5.3)
        expect log 1 2 3 = 1 2 2
        expect commit 1 2 3 = 3
        expect applied 1 2 3 = c
        """)
    }

    func testFastBackoffSkipsAConflictingTerm() {
        run("""
        # n1 piles up 20 uncommitted term-1 entries; the new leader must get past them
        # in a few round trips, not twenty (rejection hint = last index that may match).
        nodes 1 2 3 prevote=off checkquorum=off max-append=100
        campaign 1
        deliver-all
        partition 1 | 2 3
        tick 1 x1
        drop all

        """ + (1...20).map { "propose 1 \"x\($0)\"" }.joined(separator: "\n") + """

        campaign 2
        deliver-all
        expect leader 2 term 2
        propose 2 "y" -> 3
        deliver-all
        heal
        tick 2
        deliver 2->1                   # heartbeat (term 2): n1 steps down, answers
        deliver 1->2                   # n2 probes n1 at index 3 (prev 2@2)
        deliver 2->1                   # n1 rejects; hint 1 skips over all of term 1's tail
        deliver 1->2
        deliver 2->1                   # append(prev 1@1, [2@2, 3@2]) fixes n1
        expect log 1 = 1 2 2
        expect truncated 1 from 2
        """)
    }

    func testCommitNeverRegressesAndStaleAppendKeepsTail() {
        run("""
        nodes 1 2 3
        campaign 1
        deliver-all
        expect leader 1 term 1
        propose 1 "a" -> 2
        hold 1->2 append               # the append carrying index 2 (commit 1) to n2 is delayed
        deliver-all
        propose 1 "b" -> 3
        deliver-all
        expect commit 1 2 3 = 3
        release                        # the stale append finally arrives at n2
        deliver-all
        expect commit 2 = 3            # commit does not go back
        expect last 2 = 3              # and entries after the (matching) prefix are kept
        expect applied 1 2 3 = a b
        """)
    }

    func testRestartKeepsVote() {
        run("""
        # a vote is persisted before it is sent, so a restart cannot vote twice in a term
        nodes 1 2 3 prevote=off
        campaign 1
        expect role 1 = candidate
        expect term 1 = 1
        deliver 1->2                   # n2 votes for n1 in term 1 ...
        hold 2->1                      # ... but the grant is delayed
        drop 1->3
        crash 2
        restart 2                      # rebuilt from its disk only
        expect vote 2 = 1
        expect term 2 = 1
        campaign 3
        expect term 3 = 1              # n3 asks for votes in the same term
        deliver-all                    # n2 refuses (voted n1), n1 refuses (voted itself)
        expect role 3 = follower
        expect no-leader
        release
        deliver-all                    # n1 gets the delayed grant: the only leader of term 1
        expect leader 1 term 1
        expect leaders 1
        """)
    }

    func testRestartedNodeReappliesOnlyWhatItHadNot() {
        run("""
        nodes 1 2 3
        campaign 1
        deliver-all
        propose 1 "a"
        propose 1 "b"
        deliver-all
        expect commit 1 2 3 = 3
        crash 3
        propose 1 "c"
        deliver-all
        restart 3
        expect commit 3 = 3            # commit index came back from HardState
        expect log 3 = 1 1 1
        run 3
        expect applied 1 2 3 = a b c   # the durable state machine saw each entry exactly once
        """)
    }

    func testFollowerCommitsOnlyWhatTheAppendProved() {
        run("""
        # n3 holds 3@2 from a term-2 leader that never committed it. The term-3 leader's append
        # proves only the prefix through index 2, so n3 must not commit its stale 3@2 even
        # though leaderCommit is 3 (Figure 2: min(leaderCommit, index of last new entry)).
        nodes 1 2 3
        disk 3 term=2 log=1,2,2 commit=1
        expect commit 3 = 1
        inject 1->3 term=3 append prev=2@2 commit=3
        expect commit 3 = 2
        expect last 3 = 3
        expect leader-of 3 = 1
        inject 1->3 term=3 append prev=2@2 entries=3 commit=3
        expect log 3 = 1 2 3           # the conflicting 3@2 was replaced
        expect truncated 3 from 3
        expect commit 3 = 3
        inject 1->3 term=3 heartbeat commit=9
        expect commit 3 = 3            # never beyond its own log
        inject 2->3 term=2 append prev=0@0 entries=1 commit=0
        expect pending 3->2 append-resp = 1   # a stale leader is answered, so it can step down
        expect log 3 = 1 2 3
        """)
    }
}
