/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Netlink plumbing for VM networking. */

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <sys/ioctl.h>

#include "macro.h"
#include "net.h"

static inline struct rtnl_link *rtnl_link_put_null(struct rtnl_link *l) {
        rtnl_link_put(l);
        return NULL;
}
DEFINE_CLEANUP(struct rtnl_link *, rtnl_link_put_null);

/* libnl's own error numbers, as the nearest errno. */
static int nl_to_errno(int e) {
        switch (-abs(e)) {
        case -NLE_OBJ_NOTFOUND:
        case -NLE_NODEV:
                return -ENODEV;
        case -NLE_EXIST:
                return -EEXIST;
        case -NLE_PERM:
                return -EPERM;
        case -NLE_NOMEM:
                return -ENOMEM;
        case -NLE_BUSY:
                return -EBUSY;
        case -NLE_INVAL:
                return -EINVAL;
        default:
                return -EIO;
        }
}

int net_open(NetSocket **ret) {
        struct nl_sock *sk = nl_socket_alloc();
        int r;

        if (!sk)
                return -ENOMEM;
        r = nl_connect(sk, NETLINK_ROUTE);
        if (r < 0) {
                nl_socket_free(sk);
                return nl_to_errno(r);
        }
        *ret = sk;
        return 0;
}

NetSocket *net_close(NetSocket *sk) {
        if (sk)
                nl_socket_free(sk);
        return NULL;
}

static int net_get_link(NetSocket *sk, const char *name, struct rtnl_link **ret) {
        int r = rtnl_link_get_kernel(sk, 0, name, ret);
        return r < 0 ? nl_to_errno(r) : 0;
}

int net_link_kind(NetSocket *sk, const char *name, char **ret_kind) {
        _cleanup_(rtnl_link_put_nullp) struct rtnl_link *link = NULL;
        int r;

        r = net_get_link(sk, name, &link);
        if (r < 0)
                return r;
        *ret_kind = strdup(strempty(rtnl_link_get_type(link)));
        return *ret_kind ? 0 : -ENOMEM;
}

static int net_link_up(NetSocket *sk, struct rtnl_link *link, int master_ifindex) {
        _cleanup_(rtnl_link_put_nullp) struct rtnl_link *change = rtnl_link_alloc();
        int r;

        if (!change)
                return -ENOMEM;
        rtnl_link_set_flags(change, IFF_UP);
        if (master_ifindex > 0)
                rtnl_link_set_master(change, master_ifindex);
        r = rtnl_link_change(sk, link, change, 0);
        return r < 0 ? nl_to_errno(r) : 0;
}

int net_bridge_ensure(NetSocket *sk, const char *bridge) {
        _cleanup_(rtnl_link_put_nullp) struct rtnl_link *link = NULL;
        int r;

        r = net_get_link(sk, bridge, &link);
        if (r == -ENODEV) {
                r = rtnl_link_bridge_add(sk, bridge);
                /* Another VM's unit may have made it meanwhile. */
                if (r < 0 && nl_to_errno(r) != -EEXIST)
                        return nl_to_errno(r);
                r = net_get_link(sk, bridge, &link);
        }
        if (r < 0)
                return r;
        if (!streq_ptr(rtnl_link_get_type(link), "bridge"))
                return -EEXIST;
        return net_link_up(sk, link, 0);
}

int net_tap_open(const char *tap, int *ret_fd) {
        _cleanup_close_ int fd = -EBADF;
        /* The flags QEMU itself would ask for: a virtio-net header, no packet information. */
        struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };

        fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        strncpy(ifr.ifr_name, tap, IFNAMSIZ - 1);
        if (ioctl(fd, TUNSETIFF, &ifr) < 0)
                return negative_errno();
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int tap_create(const char *tap, uid_t owner) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = net_tap_open(tap, &fd);
        if (r < 0)
                return r;
        if (ioctl(fd, TUNSETOWNER, (unsigned long) owner) < 0)
                return negative_errno();
        /* Persistent: it outlives this fd, and the hypervisor attaches to it by name. */
        if (ioctl(fd, TUNSETPERSIST, 1) < 0)
                return negative_errno();
        return 0;
}

int net_tap_ensure(NetSocket *sk, const char *tap, const char *bridge, uid_t owner) {
        _cleanup_(rtnl_link_put_nullp) struct rtnl_link *link = NULL, *master = NULL;
        int r;

        r = net_get_link(sk, bridge, &master);
        if (r < 0)
                return r;

        r = net_get_link(sk, tap, &link);
        if (r == -ENODEV) {
                r = tap_create(tap, owner);
                if (r < 0)
                        return r;
                r = net_get_link(sk, tap, &link);
        } else if (r >= 0 && !streq_ptr(rtnl_link_get_type(link), "tun"))
                /* A TAP left over from a crash is ours to take over; any other link is not. */
                return -EEXIST;
        else if (r >= 0 && (rtnl_link_get_flags(link) & IFF_LOWER_UP))
                /* Carrier: a process has it open, another VM's hypervisor most likely. */
                return -EBUSY;
        if (r < 0)
                return r;

        return net_link_up(sk, link, rtnl_link_get_ifindex(master));
}

int net_tap_remove(NetSocket *sk, const char *tap) {
        _cleanup_(rtnl_link_put_nullp) struct rtnl_link *link = NULL;
        int r;

        r = net_get_link(sk, tap, &link);
        if (r == -ENODEV)
                return 0;
        if (r < 0)
                return r;
        if (!streq_ptr(rtnl_link_get_type(link), "tun"))
                return -EEXIST;
        r = rtnl_link_delete(sk, link);
        return r < 0 ? nl_to_errno(r) : 0;
}
