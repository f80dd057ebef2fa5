/* The C library entry points rote watches, defined in the rote executable
 * itself and exported (see rote.dynamic-list) so that libpython and every
 * extension module resolve to them before libc: each one forwards to the
 * real function (dlsym RTLD_NEXT) and, only while a memoization candidate
 * runs somewhere in the process (`rote_interpose_active`), reports what it
 * saw to rote's sink. With nothing active the cost is one relaxed load and
 * a branch.
 *
 * Not visible from here: raw system calls (statically linked code, Go or
 * Rust binaries' own syscalls), io_uring, files mapped before the call,
 * vfork (never wrapped: a wrapper would return into the parent's frame in
 * the shared address space), and calls libc makes to itself internally.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Kinds of event; mirrored in lib.rs. */
enum {
    ROTE_OPEN = 1,      /* path, flags, err */
    ROTE_STAT = 2,      /* path, err (0: found) */
    ROTE_OPENDIR = 3,   /* path, err */
    ROTE_MODIFY = 4,    /* path: rename, unlink, mkdir */
    ROTE_CLOCK = 5,     /* flags: clock id */
    ROTE_RANDOM = 6,
    ROTE_PROCESS = 7,   /* path: program, or NULL for fork */
    ROTE_NETWORK = 8,   /* flags: 0 socket, 1 connect */
    ROTE_GETPID = 9,
    ROTE_GETENV = 10,   /* path: variable name */
};

typedef struct {
    int kind;
    int dirfd;          /* AT_FDCWD or a directory descriptor for *at calls */
    const char *path;
    long flags;
    int err;            /* errno when the call failed, else 0 */
    const char *function;
    const void *caller; /* return address: which library made the call */
} rote_event;

typedef void (*rote_sink)(const rote_event *);

int rote_interpose_active = 0;
static rote_sink sink = NULL;
static __thread int busy = 0;

void rote_interpose_set_sink(rote_sink s) { __atomic_store_n(&sink, s, __ATOMIC_RELEASE); }
void rote_interpose_set_active(int on) { __atomic_store_n(&rote_interpose_active, on, __ATOMIC_RELAXED); }
int rote_interpose_linked(void) { return 1; }

static inline int watching(void) {
    return __builtin_expect(__atomic_load_n(&rote_interpose_active, __ATOMIC_RELAXED), 0);
}

#define report(kind, dirfd, path, flags, err, function) \
    report_from(kind, dirfd, path, flags, err, function, __builtin_return_address(0))

static void report_from(int kind, int dirfd, const char *path, long flags, int err,
                        const char *function, const void *caller) {
    rote_sink s = __atomic_load_n(&sink, __ATOMIC_ACQUIRE);
    if (!s || busy)
        return;
    busy = 1;
    int saved = errno;
    rote_event e = {kind, dirfd, path, flags, err, function, caller};
    s(&e);
    errno = saved;
    busy = 0;
}

#define REAL(ret, name, params)                                      \
    typedef ret(*name##_fn) params;                                  \
    static name##_fn real_##name(void) {                             \
        static name##_fn f = NULL;                                   \
        name##_fn g = __atomic_load_n(&f, __ATOMIC_ACQUIRE);         \
        if (!g) {                                                    \
            g = (name##_fn)dlsym(RTLD_NEXT, #name);                  \
            __atomic_store_n(&f, g, __ATOMIC_RELEASE);               \
        }                                                            \
        return g;                                                    \
    }

static mode_t mode_arg(int flags, va_list ap) {
    if (flags & (O_CREAT | __O_TMPFILE))
        return (mode_t)va_arg(ap, int);
    return 0;
}

/* ---- files ---------------------------------------------------------- */

REAL(int, open, (const char *, int, ...))
int open(const char *path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    int fd = real_open()(path, flags, mode);
    if (watching())
        report(ROTE_OPEN, AT_FDCWD, path, flags, fd < 0 ? errno : 0, "open");
    return fd;
}

REAL(int, open64, (const char *, int, ...))
int open64(const char *path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    int fd = real_open64()(path, flags, mode);
    if (watching())
        report(ROTE_OPEN, AT_FDCWD, path, flags, fd < 0 ? errno : 0, "open64");
    return fd;
}

REAL(int, openat, (int, const char *, int, ...))
int openat(int dirfd, const char *path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    int fd = real_openat()(dirfd, path, flags, mode);
    if (watching())
        report(ROTE_OPEN, dirfd, path, flags, fd < 0 ? errno : 0, "openat");
    return fd;
}

REAL(int, openat64, (int, const char *, int, ...))
int openat64(int dirfd, const char *path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    int fd = real_openat64()(dirfd, path, flags, mode);
    if (watching())
        report(ROTE_OPEN, dirfd, path, flags, fd < 0 ? errno : 0, "openat64");
    return fd;
}

REAL(int, creat, (const char *, mode_t))
int creat(const char *path, mode_t mode) {
    int fd = real_creat()(path, mode);
    if (watching())
        report(ROTE_OPEN, AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, fd < 0 ? errno : 0, "creat");
    return fd;
}

REAL(int, creat64, (const char *, mode_t))
int creat64(const char *path, mode_t mode) {
    int fd = real_creat64()(path, mode);
    if (watching())
        report(ROTE_OPEN, AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, fd < 0 ? errno : 0, "creat64");
    return fd;
}

static long fopen_flags(const char *mode) {
    if (!mode)
        return O_RDONLY;
    long f = O_RDONLY;
    if (strchr(mode, 'w'))
        f = O_WRONLY | O_CREAT | O_TRUNC;
    if (strchr(mode, 'a'))
        f = O_WRONLY | O_CREAT | O_APPEND;
    if (strchr(mode, '+'))
        f = (f & ~O_ACCMODE) | O_RDWR;
    return f;
}

REAL(FILE *, fopen, (const char *, const char *))
FILE *fopen(const char *path, const char *mode) {
    FILE *f = real_fopen()(path, mode);
    if (watching())
        report(ROTE_OPEN, AT_FDCWD, path, fopen_flags(mode), f ? 0 : errno, "fopen");
    return f;
}

REAL(FILE *, fopen64, (const char *, const char *))
FILE *fopen64(const char *path, const char *mode) {
    FILE *f = real_fopen64()(path, mode);
    if (watching())
        report(ROTE_OPEN, AT_FDCWD, path, fopen_flags(mode), f ? 0 : errno, "fopen64");
    return f;
}

REAL(FILE *, freopen, (const char *, const char *, FILE *))
FILE *freopen(const char *path, const char *mode, FILE *stream) {
    FILE *f = real_freopen()(path, mode, stream);
    if (watching() && path)
        report(ROTE_OPEN, AT_FDCWD, path, fopen_flags(mode), f ? 0 : errno, "freopen");
    return f;
}

REAL(FILE *, freopen64, (const char *, const char *, FILE *))
FILE *freopen64(const char *path, const char *mode, FILE *stream) {
    FILE *f = real_freopen64()(path, mode, stream);
    if (watching() && path)
        report(ROTE_OPEN, AT_FDCWD, path, fopen_flags(mode), f ? 0 : errno, "freopen64");
    return f;
}

REAL(DIR *, opendir, (const char *))
DIR *opendir(const char *path) {
    DIR *d = real_opendir()(path);
    if (watching())
        report(ROTE_OPENDIR, AT_FDCWD, path, 0, d ? 0 : errno, "opendir");
    return d;
}

/* Looking at a path: found (err 0) or not (err: ENOENT, ENOTDIR...). */
#define STAT_LIKE(name, params, call, dirfd, path)                          \
    REAL(int, name, params)                                                 \
    int name params {                                                       \
        int rc = real_##name() call;                                        \
        if (watching())                                                     \
            report(ROTE_STAT, dirfd, path, 0, rc != 0 ? errno : 0, #name);  \
        return rc;                                                          \
    }

STAT_LIKE(stat, (const char *p, struct stat *b), (p, b), AT_FDCWD, p)
STAT_LIKE(lstat, (const char *p, struct stat *b), (p, b), AT_FDCWD, p)
STAT_LIKE(stat64, (const char *p, struct stat64 *b), (p, b), AT_FDCWD, p)
STAT_LIKE(lstat64, (const char *p, struct stat64 *b), (p, b), AT_FDCWD, p)
STAT_LIKE(fstatat, (int d, const char *p, struct stat *b, int f), (d, p, b, f), d, p)
STAT_LIKE(fstatat64, (int d, const char *p, struct stat64 *b, int f), (d, p, b, f), d, p)
STAT_LIKE(statx, (int d, const char *p, int f, unsigned int m, struct statx *b), (d, p, f, m, b), d, p)
STAT_LIKE(access, (const char *p, int m), (p, m), AT_FDCWD, p)
STAT_LIKE(faccessat, (int d, const char *p, int m, int f), (d, p, m, f), d, p)

/* Wheels built against glibc < 2.33 (manylinux2014: numpy, pyarrow, h5py)
 * call the versioned stat entry points instead. */
STAT_LIKE(__xstat, (int v, const char *p, struct stat *b), (v, p, b), AT_FDCWD, p)
STAT_LIKE(__lxstat, (int v, const char *p, struct stat *b), (v, p, b), AT_FDCWD, p)
STAT_LIKE(__xstat64, (int v, const char *p, struct stat64 *b), (v, p, b), AT_FDCWD, p)
STAT_LIKE(__lxstat64, (int v, const char *p, struct stat64 *b), (v, p, b), AT_FDCWD, p)
STAT_LIKE(__fxstatat, (int v, int d, const char *p, struct stat *b, int f), (v, d, p, b, f), d, p)
STAT_LIKE(__fxstatat64, (int v, int d, const char *p, struct stat64 *b, int f), (v, d, p, b, f), d, p)

#define MODIFY(name, params, call, dirfd, path)                             \
    REAL(int, name, params)                                                 \
    int name params {                                                       \
        int rc = real_##name() call;                                        \
        if (watching())                                                     \
            report(ROTE_MODIFY, dirfd, path, 0, rc != 0 ? errno : 0, #name); \
        return rc;                                                          \
    }

MODIFY(rename, (const char *a, const char *b), (a, b), AT_FDCWD, b)
MODIFY(renameat, (int da, const char *a, int db, const char *b), (da, a, db, b), db, b)
MODIFY(renameat2, (int da, const char *a, int db, const char *b, unsigned int f), (da, a, db, b, f), db, b)
MODIFY(unlink, (const char *p), (p), AT_FDCWD, p)
MODIFY(unlinkat, (int d, const char *p, int f), (d, p, f), d, p)
MODIFY(mkdir, (const char *p, mode_t m), (p, m), AT_FDCWD, p)
MODIFY(mkdirat, (int d, const char *p, mode_t m), (d, p, m), d, p)
MODIFY(rmdir, (const char *p), (p), AT_FDCWD, p)

/* ---- time and randomness -------------------------------------------- */

REAL(int, clock_gettime, (clockid_t, struct timespec *))
int clock_gettime(clockid_t id, struct timespec *ts) {
    int rc = real_clock_gettime()(id, ts);
    if (watching())
        report(ROTE_CLOCK, AT_FDCWD, NULL, (long)id, 0, "clock_gettime");
    return rc;
}

REAL(int, gettimeofday, (struct timeval *, void *))
int gettimeofday(struct timeval *tv, void *tz) {
    int rc = real_gettimeofday()(tv, tz);
    if (watching())
        report(ROTE_CLOCK, AT_FDCWD, NULL, (long)CLOCK_REALTIME, 0, "gettimeofday");
    return rc;
}

REAL(time_t, time, (time_t *))
time_t time(time_t *t) {
    time_t r = real_time()(t);
    if (watching())
        report(ROTE_CLOCK, AT_FDCWD, NULL, (long)CLOCK_REALTIME, 0, "time");
    return r;
}

REAL(ssize_t, getrandom, (void *, size_t, unsigned int))
ssize_t getrandom(void *buf, size_t len, unsigned int flags) {
    ssize_t r = real_getrandom()(buf, len, flags);
    if (watching())
        report(ROTE_RANDOM, AT_FDCWD, NULL, (long)len, r < 0 ? errno : 0, "getrandom");
    return r;
}

/* ---- processes and network ------------------------------------------ */

REAL(pid_t, fork, (void))
pid_t fork(void) {
    if (watching())
        report(ROTE_PROCESS, AT_FDCWD, NULL, 0, 0, "fork");
    return real_fork()();
}

REAL(int, execve, (const char *, char *const[], char *const[]))
int execve(const char *path, char *const argv[], char *const envp[]) {
    if (watching())
        report(ROTE_PROCESS, AT_FDCWD, path, 0, 0, "execve");
    return real_execve()(path, argv, envp);
}

REAL(int, execv, (const char *, char *const[]))
int execv(const char *path, char *const argv[]) {
    if (watching())
        report(ROTE_PROCESS, AT_FDCWD, path, 0, 0, "execv");
    return real_execv()(path, argv);
}

REAL(int, execvp, (const char *, char *const[]))
int execvp(const char *file, char *const argv[]) {
    if (watching())
        report(ROTE_PROCESS, AT_FDCWD, file, 0, 0, "execvp");
    return real_execvp()(file, argv);
}

REAL(int, execvpe, (const char *, char *const[], char *const[]))
int execvpe(const char *file, char *const argv[], char *const envp[]) {
    if (watching())
        report(ROTE_PROCESS, AT_FDCWD, file, 0, 0, "execvpe");
    return real_execvpe()(file, argv, envp);
}

REAL(int, posix_spawn, (pid_t *, const char *, const posix_spawn_file_actions_t *,
                        const posix_spawnattr_t *, char *const[], char *const[]))
int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
    if (watching())
        report(ROTE_PROCESS, AT_FDCWD, path, 0, 0, "posix_spawn");
    return real_posix_spawn()(pid, path, fa, attr, argv, envp);
}

REAL(int, posix_spawnp, (pid_t *, const char *, const posix_spawn_file_actions_t *,
                         const posix_spawnattr_t *, char *const[], char *const[]))
int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                 const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
    if (watching())
        report(ROTE_PROCESS, AT_FDCWD, file, 0, 0, "posix_spawnp");
    return real_posix_spawnp()(pid, file, fa, attr, argv, envp);
}

REAL(int, system, (const char *))
int system(const char *command) {
    if (watching())
        report(ROTE_PROCESS, AT_FDCWD, command, 0, 0, "system");
    return real_system()(command);
}

REAL(int, socket, (int, int, int))
int socket(int domain, int type, int protocol) {
    int fd = real_socket()(domain, type, protocol);
    if (watching())
        report(ROTE_NETWORK, AT_FDCWD, NULL, (long)domain, fd < 0 ? errno : 0, "socket");
    return fd;
}

REAL(int, connect, (int, const struct sockaddr *, socklen_t))
int connect(int fd, const struct sockaddr *addr, socklen_t len) {
    int rc = real_connect()(fd, addr, len);
    if (watching())
        report(ROTE_NETWORK, AT_FDCWD, NULL, addr ? (long)addr->sa_family : 0L,
               rc != 0 ? errno : 0, "connect");
    return rc;
}

REAL(pid_t, getpid, (void))
pid_t getpid(void) {
    pid_t p = real_getpid()();
    if (watching())
        report(ROTE_GETPID, AT_FDCWD, NULL, 0, 0, "getpid");
    return p;
}

REAL(char *, getenv, (const char *))
char *getenv(const char *name) {
    char *v = real_getenv()(name);
    if (watching())
        report(ROTE_GETENV, AT_FDCWD, name, v != NULL, 0, "getenv");
    return v;
}
