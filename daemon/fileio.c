/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* File helpers shared by the daemon and the tools. */

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <libgen.h>
#include <stdio.h>
#include <sys/stat.h>

#include "fileio.h"
#include "macro.h"

int read_file(const char *path, char **ret_contents, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t n = 0;

        /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if (st.st_size > MVM_FILE_SIZE_MAX)
                return -EFBIG;

        buf = malloc((size_t) st.st_size + 1);
        if (!buf)
                return -ENOMEM;

        /* The size may change under us; read what is there, up to what we allocated. */
        while (n < (size_t) st.st_size) {
                ssize_t k = read(fd, buf + n, (size_t) st.st_size - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        buf[n] = '\0';

        if (ret_size)
                *ret_size = n;
        *ret_contents = TAKE_PTR(buf);
        return 0;
}

int write_full(int fd, const char *p, size_t size) {
        while (size > 0) {
                ssize_t k = write(fd, p, size);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                p += k;
                size -= (size_t) k;
        }
        return 0;
}

static int fsync_directory_of(const char *path) {
        _cleanup_free_ char *copy = strdup(path);
        _cleanup_close_ int fd = -EBADF;

        if (!copy)
                return -ENOMEM;
        fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (fsync(fd) < 0)
                return negative_errno();
        return 0;
}

int write_file_atomic(const char *path, const char *contents, size_t size, mode_t mode) {
        _cleanup_free_ char *dir = strdup(path), *base = strdup(path), *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (!dir || !base)
                return -ENOMEM;
        /* Hidden and ending in ".tmp…", so that loaders skip a leftover after a crash. */
        if (asprintf(&tmp, "%s/.%s.tmpXXXXXX", dirname(dir), basename(base)) < 0)
                return -ENOMEM;

        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return negative_errno();

        r = write_full(fd, contents, size);
        if (r >= 0 && fchmod(fd, mode) < 0)
                r = negative_errno();
        if (r >= 0 && fsync(fd) < 0)
                r = negative_errno();
        if (r >= 0 && rename(tmp, path) < 0)
                r = negative_errno();
        if (r < 0) {
                (void) unlink(tmp);
                return r;
        }

        return fsync_directory_of(path);
}

int unlink_durable(const char *path) {
        if (unlink(path) < 0)
                return negative_errno();
        return fsync_directory_of(path);
}

int mkdir_parents(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;

        for (char *s = p + 1; ; s++) {
                bool last = *s == '\0';

                if (*s != '/' && !last)
                        continue;
                *s = '\0';
                if (mkdir(p, mode) < 0) {
                        struct stat st;

                        if (errno != EEXIST)
                                return negative_errno();
                        /* Something is there already: fine only if it is a directory. */
                        if (stat(p, &st) < 0)
                                return negative_errno();
                        if (!S_ISDIR(st.st_mode))
                                return -ENOTDIR;
                }
                if (last)
                        return 0;
                *s = '/';
        }
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

int rm_rf(const char *path) {
        if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        return 0;
}

int copy_file(const char *from, const char *to, uid_t uid, gid_t gid, mode_t mode) {
        _cleanup_close_ int in = -EBADF, out = -EBADF;
        int r = 0;

        in = open(from, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (in < 0)
                return -errno;
        out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (out < 0)
                return -errno;
        if (fchown(out, uid, gid) < 0)
                r = -errno;
        while (r >= 0) {
                ssize_t n = copy_file_range(in, NULL, out, NULL, SSIZE_MAX, 0);

                if (n < 0 && IN_SET(errno, EXDEV, EINVAL, EOPNOTSUPP, ENOSYS))
                        break;          /* between filesystems the kernel does not copy: by hand */
                if (n < 0)
                        r = -errno;
                else if (n == 0)
                        goto done;
        }
        while (r >= 0) {
                char buf[64 * 1024];
                ssize_t n = read(in, buf, sizeof(buf));

                if (n < 0)
                        r = -errno;
                else if (n == 0)
                        break;
                else
                        r = write_full(out, buf, (size_t) n);
        }
done:
        if (r < 0)
                (void) unlink(to);
        return r;
}

bool file_mode_allows(const struct stat *st, bool write, uid_t uid, gid_t gid) {
        mode_t need_user = S_IRUSR | (write ? S_IWUSR : 0), need_group = S_IRGRP | (write ? S_IWGRP : 0),
               need_other = S_IROTH | (write ? S_IWOTH : 0);

        if (st->st_uid == uid)
                return (st->st_mode & need_user) == need_user;
        if (st->st_gid == gid)
                return (st->st_mode & need_group) == need_group;
        return (st->st_mode & need_other) == need_other;
}
