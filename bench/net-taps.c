/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The network benchmark's program (bench/net runs it). As root, in a network namespace it makes
 * for itself, so that no link of the machine's is touched, it times N TAP devices made
 * persistent, enslaved to one bridge and brought up, then removed, through microvm's netlink code
 * (daemon/net.c), against the same with `ip` subprocesses; the two alternate round by round.
 * After each phase a netlink dump checks that exactly the expected links are there, enslaved and
 * up; at the end only the links the namespace was born with are left. */

#include <getopt.h>
#include <linux/if.h>
#include <sched.h>
#include <netlink/cache.h>
#include <netlink/route/link.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>

#include "figure.h"
#include "log.h"
#include "macro.h"
#include "net.h"

#define BENCH_BRIDGE            "mvmbench0"
#define BENCH_TAP_FORMAT        "mvmb-%u"

/* microvm's target for its TAP plumbing (bench/README.md): N = 100. */
#define TARGET_TAPS_MS          150.0

extern char **environ;

typedef enum Way {
        WAY_MICROVM,
        WAY_IP,
        _WAY_MAX,
} Way;

typedef enum Phase {
        PHASE_CREATE,           /* create, enslave, up */
        PHASE_REMOVE,
        PHASE_TOTAL,            /* the two together, round by round */
        _PHASE_MAX,
} Phase;

typedef struct Options {
        size_t taps;
        size_t rounds;
        const char *ip;         /* the ip binary of the baseline */
        const char *summary;    /* where the summary rows are appended, or NULL */
} Options;

typedef struct Bench {
        Options opt;
        NetSocket *sk;          /* for the checks and the bridge; each microvm run opens its own */
        int n_initial_links;    /* lo, and the fallback tunnels of modules loaded, in a new namespace */
        int bridge_ifindex;
        char (*names)[IFNAMSIZ];
        double *ms[_WAY_MAX][_PHASE_MAX];       /* per round */
        FILE *summary;
} Bench;

static inline struct nl_cache *nl_cache_free_null(struct nl_cache *c) {
        nl_cache_free(c);
        return NULL;
}
DEFINE_CLEANUP(struct nl_cache *, nl_cache_free_null);

static inline struct rtnl_link *rtnl_link_put_null(struct rtnl_link *l) {
        rtnl_link_put(l);
        return NULL;
}
DEFINE_CLEANUP(struct rtnl_link *, rtnl_link_put_null);

static int link_dump(Bench *b, struct nl_cache **ret) {
        int r = rtnl_link_alloc_cache(b->sk, AF_UNSPEC, ret);
        if (r < 0)
                return log_error_errno(EIO, "Failed to dump the links: %s", nl_geterror(r));
        return 0;
}

static int count_links(Bench *b, int *ret) {
        _cleanup_(nl_cache_free_nullp) struct nl_cache *cache = NULL;
        int r;

        r = link_dump(b, &cache);
        if (r < 0)
                return r;
        *ret = nl_cache_nitems(cache);
        return 0;
}

/* Exactly the initial links, the bridge and, when present is true, every TAP, enslaved to the
 * bridge and up. */
static int check_links(Bench *b, bool present, const char *what) {
        _cleanup_(nl_cache_free_nullp) struct nl_cache *cache = NULL;
        size_t expected = (size_t) b->n_initial_links + 1 + (present ? b->opt.taps : 0);
        int r;

        r = link_dump(b, &cache);
        if (r < 0)
                return r;
        if ((size_t) nl_cache_nitems(cache) != expected)
                return log_error_errno(EIO, "%s: %d links, expected %zu.", what, nl_cache_nitems(cache), expected);
        if (!present)
                return 0;

        for (size_t i = 0; i < b->opt.taps; i++) {
                _cleanup_(rtnl_link_put_nullp) struct rtnl_link *link = rtnl_link_get_by_name(cache, b->names[i]);

                if (!link)
                        return log_error_errno(EIO, "%s: no link %s.", what, b->names[i]);
                if (!streq_ptr(rtnl_link_get_type(link), "tun") || rtnl_link_get_master(link) != b->bridge_ifindex ||
                    !(rtnl_link_get_flags(link) & IFF_UP))
                        return log_error_errno(EIO, "%s: %s is not a TAP device on %s that is up.", what,
                                               b->names[i], BENCH_BRIDGE);
        }
        return 0;
}

static int microvm_create(Bench *b, NetSocket *sk) {
        for (size_t i = 0; i < b->opt.taps; i++) {
                int r = net_tap_ensure(sk, b->names[i], BENCH_BRIDGE, 0);
                if (r < 0)
                        return log_error_errno(r, "Failed to set up TAP device %s: %m", b->names[i]);
        }
        return 0;
}

static int microvm_remove(Bench *b, NetSocket *sk) {
        for (size_t i = 0; i < b->opt.taps; i++) {
                int r = net_tap_remove(sk, b->names[i]);
                if (r < 0)
                        return log_error_errno(r, "Failed to remove TAP device %s: %m", b->names[i]);
        }
        return 0;
}

static int ip_run(Bench *b, char *const argv[]) {
        char command[256] = "";
        pid_t pid;
        int r, status;

        r = posix_spawn(&pid, b->opt.ip, NULL, NULL, argv, environ);
        if (r != 0)
                return log_error_errno(r, "Failed to run %s: %m", b->opt.ip);
        if (waitpid(pid, &status, 0) < 0)
                return log_error_errno(errno, "Failed to wait for %s: %m", b->opt.ip);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;

        for (size_t i = 0, n = 0; argv[i] && n < sizeof(command); i++)
                n += (size_t) snprintf(command + n, sizeof(command) - n, "%s%s", i > 0 ? " " : "", argv[i]);
        return log_error_errno(EIO, "'%s' failed.", command);
}

static int ip_create(Bench *b) {
        for (size_t i = 0; i < b->opt.taps; i++) {
                char *add[] = { "ip", "tuntap", "add", "dev", b->names[i], "mode", "tap", NULL };
                char *up[] = { "ip", "link", "set", b->names[i], "master", BENCH_BRIDGE, "up", NULL };
                int r;

                r = ip_run(b, add);
                if (r < 0)
                        return r;
                r = ip_run(b, up);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int ip_remove(Bench *b) {
        for (size_t i = 0; i < b->opt.taps; i++) {
                char *del[] = { "ip", "link", "del", b->names[i], NULL };
                int r = ip_run(b, del);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int way_create(Bench *b, Way way, NetSocket *sk) {
        return way == WAY_MICROVM ? microvm_create(b, sk) : ip_create(b);
}

static int way_remove(Bench *b, Way way, NetSocket *sk) {
        return way == WAY_MICROVM ? microvm_remove(b, sk) : ip_remove(b);
}

/* One round of one way: both phases timed, the links checked after each, untimed. microvm's
 * netlink socket is opened once a round, in the timed part: the launcher opens one per VM. */
static int bench_round(Bench *b, Way way, double *ret_ms) {
        _cleanup_(net_closep) NetSocket *sk = NULL;
        uint64_t t0, t1, t2, t3;
        int r;

        t0 = now_nsec();
        if (way == WAY_MICROVM) {
                r = net_open(&sk);
                if (r < 0)
                        return log_error_errno(r, "Failed to open a netlink socket: %m");
        }
        r = way_create(b, way, sk);
        if (r < 0)
                return r;
        t1 = now_nsec();

        r = check_links(b, /* present= */ true, way == WAY_MICROVM ? "After net_tap_ensure" : "After ip");
        if (r < 0)
                return r;

        t2 = now_nsec();
        r = way_remove(b, way, sk);
        if (r < 0)
                return r;
        sk = net_close(sk);
        t3 = now_nsec();

        r = check_links(b, /* present= */ false, way == WAY_MICROVM ? "After net_tap_remove" : "After ip link del");
        if (r < 0)
                return r;

        ret_ms[PHASE_CREATE] = (double) (t1 - t0) / (double) NSEC_PER_MSEC;
        ret_ms[PHASE_REMOVE] = (double) (t3 - t2) / (double) NSEC_PER_MSEC;
        ret_ms[PHASE_TOTAL] = ret_ms[PHASE_CREATE] + ret_ms[PHASE_REMOVE];
        return 0;
}

static int bench_bridge(Bench *b) {
        _cleanup_(rtnl_link_put_nullp) struct rtnl_link *link = NULL;
        int r;

        r = count_links(b, &b->n_initial_links);
        if (r < 0)
                return r;
        r = net_bridge_ensure(b->sk, BENCH_BRIDGE);
        if (r < 0)
                return log_error_errno(r, "Failed to set up bridge %s: %m", BENCH_BRIDGE);
        r = rtnl_link_get_kernel(b->sk, 0, BENCH_BRIDGE, &link);
        if (r < 0)
                return log_error_errno(EIO, "Failed to look up bridge %s: %s", BENCH_BRIDGE, nl_geterror(r));
        b->bridge_ifindex = rtnl_link_get_ifindex(link);
        return 0;
}

/* The namespace goes with the process anyway; this checks that nothing else is left. */
static int bench_bridge_remove(Bench *b) {
        _cleanup_(rtnl_link_put_nullp) struct rtnl_link *link = rtnl_link_alloc();
        int n, r;

        if (!link)
                return log_oom();
        rtnl_link_set_ifindex(link, b->bridge_ifindex);
        r = rtnl_link_delete(b->sk, link);
        if (r < 0)
                return log_error_errno(EIO, "Failed to remove bridge %s: %s", BENCH_BRIDGE, nl_geterror(r));
        r = count_links(b, &n);
        if (r < 0)
                return r;
        if (n != b->n_initial_links)
                return log_error_errno(EIO, "%d links left, expected %d.", n, b->n_initial_links);
        return 0;
}

static int bench_run(Bench *b) {
        static const char *const phase_names[_PHASE_MAX] = {
                [PHASE_CREATE] = "create+enslave+up",
                [PHASE_REMOVE] = "remove",
                [PHASE_TOTAL] = "create+enslave+up+remove",
        };
        double warmup[_PHASE_MAX], round_ms[_PHASE_MAX];
        int r;

        r = bench_bridge(b);
        if (r < 0)
                return r;

        printf("== net: %zu TAP devices on one bridge through daemon/net.c, against ip; %zu rounds each, "
               "alternating; medians\n", b->opt.taps, b->opt.rounds);
        fflush(stdout);

        /* A round of each, untimed, so that both start warm (ip in the page cache, tun loaded). */
        for (Way w = 0; w < _WAY_MAX; w++) {
                r = bench_round(b, w, warmup);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < b->opt.rounds; i++)
                for (size_t k = 0; k < _WAY_MAX; k++) {
                        /* Alternating: neither way always goes first. */
                        Way w = (Way) ((i + k) % _WAY_MAX);

                        r = bench_round(b, w, round_ms);
                        if (r < 0)
                                return r;
                        for (Phase p = 0; p < _PHASE_MAX; p++)
                                b->ms[w][p][i] = round_ms[p];
                }

        for (Phase p = 0; p < _PHASE_MAX; p++) {
                char name[64];

                snprintf(name, sizeof(name), "%zu TAPs %s", b->opt.taps, phase_names[p]);
                figure_print(b->summary, &(Figure) {
                        .name = name,
                        .unit = "ms",
                        .decimals = 1,
                        .value = median(b->ms[WAY_MICROVM][p], b->opt.rounds),
                        .baseline = median(b->ms[WAY_IP][p], b->opt.rounds),
                        /* The target is for 100 TAPs, and scales with N. */
                        .target_kind = p == PHASE_TOTAL ? TARGET_AT_MOST : TARGET_NONE,
                        .target = TARGET_TAPS_MS * (double) b->opt.taps / 100.0,
                });
        }
        return bench_bridge_remove(b);
}

static int parse_argv(int argc, char *argv[], Options *o) {
        enum {
                ARG_TAPS = 0x100,
                ARG_ROUNDS,
                ARG_IP,
                ARG_SUMMARY,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "taps", required_argument, NULL, ARG_TAPS },
                { "rounds", required_argument, NULL, ARG_ROUNDS },
                { "ip", required_argument, NULL, ARG_IP },
                { "summary", required_argument, NULL, ARG_SUMMARY },
                {}
        };
        int c, r = 0;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        printf("%s --ip PATH [--taps N] [--rounds N] [--summary FILE]\n\n"
                               "Times TAP devices through microvm's netlink code against ip, as root, in a network\n"
                               "namespace of its own. bench/net runs it.\n", argv[0]);
                        return 0;
                case ARG_TAPS:
                        r = parse_count(optarg, 1, 10000, &o->taps);
                        break;
                case ARG_ROUNDS:
                        r = parse_count(optarg, 1, 10000, &o->rounds);
                        break;
                case ARG_IP:
                        o->ip = optarg;
                        break;
                case ARG_SUMMARY:
                        o->summary = optarg;
                        break;
                default:
                        return -EINVAL;
                }
                if (r < 0)
                        return log_error_errno(r, "Bad number '%s': expected a count from 1 to 10000.", optarg);
        }

        if (optind < argc)
                return log_error_errno(EINVAL, "%s takes no arguments.", argv[0]);
        if (!o->ip)
                return log_error_errno(EINVAL, "--ip is required.");
        return 1;
}

static void bench_done(Bench *b) {
        if (b->summary)
                (void) fclose(b->summary);
        for (Way w = 0; w < _WAY_MAX; w++)
                for (Phase p = 0; p < _PHASE_MAX; p++)
                        free(b->ms[w][p]);
        free(b->names);
        b->sk = net_close(b->sk);
}

static int bench_init(Bench *b) {
        int r;

        b->names = calloc(b->opt.taps, sizeof(*b->names));
        if (!b->names)
                return log_oom();
        for (size_t i = 0; i < b->opt.taps; i++)
                snprintf(b->names[i], sizeof(b->names[i]), BENCH_TAP_FORMAT, (unsigned) i);
        for (Way w = 0; w < _WAY_MAX; w++)
                for (Phase p = 0; p < _PHASE_MAX; p++) {
                        b->ms[w][p] = calloc(b->opt.rounds, sizeof(double));
                        if (!b->ms[w][p])
                                return log_oom();
                }

        /* Before the socket is opened: it belongs to the namespace it was made in. */
        if (unshare(CLONE_NEWNET) < 0)
                return log_error_errno(errno, "Failed to make a network namespace: %m");

        if (b->opt.summary) {
                b->summary = fopen(b->opt.summary, "ae");
                if (!b->summary)
                        return log_error_errno(errno, "Failed to open %s: %m", b->opt.summary);
        }

        r = net_open(&b->sk);
        if (r < 0)
                return log_error_errno(r, "Failed to open a netlink socket: %m");
        return 0;
}

int main(int argc, char *argv[]) {
        _cleanup_(bench_done) Bench b = {
                .opt = {
                        .taps = 100,
                        .rounds = 5,
                },
        };
        int r;

        r = parse_argv(argc, argv, &b.opt);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        r = bench_init(&b);
        if (r < 0)
                return EXIT_FAILURE;
        r = bench_run(&b);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
