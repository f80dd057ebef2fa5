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
    ROTE_STDIN = 11,    /* flags: bytes asked for */
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

/* Time spent in the sink since start-up (the active cost, for bench/clib.py). */
static unsigned long long sink_ns = 0;
unsigned long long rote_interpose_sink_ns(void) { return __atomic_load_n(&sink_ns, __ATOMIC_RELAXED); }

static int (*monotonic_clock)(clockid_t, struct timespec *) = NULL;

static unsigned long long now_ns(void) {
    struct timespec t = {0, 0};
    /* libc's own, not the wrapper below: this is not the program's read. */
    if (!monotonic_clock)
        monotonic_clock = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
    if (monotonic_clock)
        monotonic_clock(CLOCK_MONOTONIC, &t);
    return (unsigned long long)t.tv_sec * 1000000000ull + (unsigned long long)t.tv_nsec;
}

static void report_from(int kind, int dirfd, const char *path, long flags, int err,
                        const char *function, const void *caller) {
    rote_sink s = __atomic_load_n(&sink, __ATOMIC_ACQUIRE);
    if (!s || busy)
        return;
    busy = 1;
    int saved = errno;
    unsigned long long t0 = now_ns();
    rote_event e = {kind, dirfd, path, flags, err, function, caller};
    s(&e);
    __atomic_fetch_add(&sink_ns, now_ns() - t0, __ATOMIC_RELAXED);
    errno = saved;
    busy = 0;
}

/* The real function, looked up once (out of line, so that the wrappers'
 * fast path needs no stack frame). */
#define REAL(ret, name, params)                                      \
    typedef ret(*name##_fn) params;                                  \
    static name##_fn name##_ptr = NULL;                              \
    static __attribute__((noinline, cold)) name##_fn                 \
    resolve_##name(void) {                                           \
        name##_fn g = (name##_fn)dlsym(RTLD_NEXT, #name);            \
        __atomic_store_n(&name##_ptr, g, __ATOMIC_RELEASE);          \
        return g;                                                    \
    }                                                                \
    static inline name##_fn real_##name(void) {                      \
        name##_fn g = __atomic_load_n(&name##_ptr, __ATOMIC_ACQUIRE); \
        return __builtin_expect(g != NULL, 1) ? g : resolve_##name(); \
    }

/* With nothing watched, the wrapper tail-calls the real function: no second
 * return after the system call (the kernel's return-stack refill on the way
 * out makes every extra `ret` after a syscall a mispredicted one, ~10 ns),
 * and a call that began before a candidate started is not the candidate's.
 */
#define PASS(name, ...)                      \
    if (!watching())                         \
        return real_##name()(__VA_ARGS__)
#define PASS0(name)                          \
    if (!watching())                         \
        return real_##name()()

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
    PASS(open, path, flags, mode);
    int fd = real_open()(path, flags, mode);
    report(ROTE_OPEN, AT_FDCWD, path, flags, fd < 0 ? errno : 0, "open");
    return fd;
}

REAL(int, open64, (const char *, int, ...))
int open64(const char *path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    PASS(open64, path, flags, mode);
    int fd = real_open64()(path, flags, mode);
    report(ROTE_OPEN, AT_FDCWD, path, flags, fd < 0 ? errno : 0, "open64");
    return fd;
}

REAL(int, openat, (int, const char *, int, ...))
int openat(int dirfd, const char *path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    PASS(openat, dirfd, path, flags, mode);
    int fd = real_openat()(dirfd, path, flags, mode);
    report(ROTE_OPEN, dirfd, path, flags, fd < 0 ? errno : 0, "openat");
    return fd;
}

REAL(int, openat64, (int, const char *, int, ...))
int openat64(int dirfd, const char *path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    PASS(openat64, dirfd, path, flags, mode);
    int fd = real_openat64()(dirfd, path, flags, mode);
    report(ROTE_OPEN, dirfd, path, flags, fd < 0 ? errno : 0, "openat64");
    return fd;
}

REAL(int, creat, (const char *, mode_t))
int creat(const char *path, mode_t mode) {
    PASS(creat, path, mode);
    int fd = real_creat()(path, mode);
    report(ROTE_OPEN, AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, fd < 0 ? errno : 0, "creat");
    return fd;
}

REAL(int, creat64, (const char *, mode_t))
int creat64(const char *path, mode_t mode) {
    PASS(creat64, path, mode);
    int fd = real_creat64()(path, mode);
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
    PASS(fopen, path, mode);
    FILE *f = real_fopen()(path, mode);
    report(ROTE_OPEN, AT_FDCWD, path, fopen_flags(mode), f ? 0 : errno, "fopen");
    return f;
}

REAL(FILE *, fopen64, (const char *, const char *))
FILE *fopen64(const char *path, const char *mode) {
    PASS(fopen64, path, mode);
    FILE *f = real_fopen64()(path, mode);
    report(ROTE_OPEN, AT_FDCWD, path, fopen_flags(mode), f ? 0 : errno, "fopen64");
    return f;
}

REAL(FILE *, freopen, (const char *, const char *, FILE *))
FILE *freopen(const char *path, const char *mode, FILE *stream) {
    PASS(freopen, path, mode, stream);
    FILE *f = real_freopen()(path, mode, stream);
    if (path)
        report(ROTE_OPEN, AT_FDCWD, path, fopen_flags(mode), f ? 0 : errno, "freopen");
    return f;
}

REAL(FILE *, freopen64, (const char *, const char *, FILE *))
FILE *freopen64(const char *path, const char *mode, FILE *stream) {
    PASS(freopen64, path, mode, stream);
    FILE *f = real_freopen64()(path, mode, stream);
    if (path)
        report(ROTE_OPEN, AT_FDCWD, path, fopen_flags(mode), f ? 0 : errno, "freopen64");
    return f;
}

REAL(DIR *, opendir, (const char *))
DIR *opendir(const char *path) {
    PASS(opendir, path);
    DIR *d = real_opendir()(path);
    report(ROTE_OPENDIR, AT_FDCWD, path, 0, d ? 0 : errno, "opendir");
    return d;
}

#define UNPAREN(...) __VA_ARGS__

/* A wrapper whose event is reported after the call (it needs the result):
 * the watched path is a separate cold function handed the caller's
 * address, so the unwatched one is a load, a branch and a tail call. */
#define AFTER(kind, name, call, dirfd, path, ...)                            \
    REAL(int, name, (__VA_ARGS__))                                           \
    static __attribute__((noinline, cold)) int                               \
    name##_seen(const void *caller, __VA_ARGS__) {                           \
        int rc = real_##name() call;                                         \
        report_from(kind, dirfd, path, 0, rc != 0 ? errno : 0, #name, caller); \
        return rc;                                                           \
    }                                                                        \
    int name(__VA_ARGS__) {                                                  \
        if (!watching())                                                     \
            return real_##name() call;                                       \
        return name##_seen(__builtin_return_address(0), UNPAREN call);       \
    }

/* Looking at a path: found (err 0) or not (err: ENOENT, ENOTDIR...). */
#define STAT_LIKE(name, call, dirfd, path, ...) AFTER(ROTE_STAT, name, call, dirfd, path, __VA_ARGS__)

STAT_LIKE(stat, (p, b), AT_FDCWD, p, const char *p, struct stat *b)
STAT_LIKE(lstat, (p, b), AT_FDCWD, p, const char *p, struct stat *b)
STAT_LIKE(stat64, (p, b), AT_FDCWD, p, const char *p, struct stat64 *b)
STAT_LIKE(lstat64, (p, b), AT_FDCWD, p, const char *p, struct stat64 *b)
STAT_LIKE(fstatat, (d, p, b, f), d, p, int d, const char *p, struct stat *b, int f)
STAT_LIKE(fstatat64, (d, p, b, f), d, p, int d, const char *p, struct stat64 *b, int f)
STAT_LIKE(statx, (d, p, f, m, b), d, p, int d, const char *p, int f, unsigned int m, struct statx *b)
STAT_LIKE(access, (p, m), AT_FDCWD, p, const char *p, int m)
STAT_LIKE(faccessat, (d, p, m, f), d, p, int d, const char *p, int m, int f)

/* Wheels built against glibc < 2.33 (manylinux2014: numpy, pyarrow, h5py)
 * call the versioned stat entry points instead. */
STAT_LIKE(__xstat, (v, p, b), AT_FDCWD, p, int v, const char *p, struct stat *b)
STAT_LIKE(__lxstat, (v, p, b), AT_FDCWD, p, int v, const char *p, struct stat *b)
STAT_LIKE(__xstat64, (v, p, b), AT_FDCWD, p, int v, const char *p, struct stat64 *b)
STAT_LIKE(__lxstat64, (v, p, b), AT_FDCWD, p, int v, const char *p, struct stat64 *b)
STAT_LIKE(__fxstatat, (v, d, p, b, f), d, p, int v, int d, const char *p, struct stat *b, int f)
STAT_LIKE(__fxstatat64, (v, d, p, b, f), d, p, int v, int d, const char *p, struct stat64 *b, int f)

/* Changing the tree: rename, unlink, mkdir, rmdir. */
#define MODIFY(name, call, dirfd, path, ...) AFTER(ROTE_MODIFY, name, call, dirfd, path, __VA_ARGS__)

MODIFY(rename, (a, b), AT_FDCWD, b, const char *a, const char *b)
MODIFY(renameat, (da, a, db, b), db, b, int da, const char *a, int db, const char *b)
MODIFY(renameat2, (da, a, db, b, f), db, b, int da, const char *a, int db, const char *b, unsigned int f)
MODIFY(unlink, (p), AT_FDCWD, p, const char *p)
MODIFY(unlinkat, (d, p, f), d, p, int d, const char *p, int f)
MODIFY(mkdir, (p, m), AT_FDCWD, p, const char *p, mode_t m)
MODIFY(mkdirat, (d, p, m), d, p, int d, const char *p, mode_t m)
MODIFY(rmdir, (p), AT_FDCWD, p, const char *p)

/* ---- time and randomness -------------------------------------------- */

REAL(int, clock_gettime, (clockid_t, struct timespec *))
static __attribute__((noinline, cold)) int clock_gettime_seen(const void *caller, clockid_t id,
                                                             struct timespec *ts) {
    int rc = real_clock_gettime()(id, ts);
    report_from(ROTE_CLOCK, AT_FDCWD, NULL, (long)id, 0, "clock_gettime", caller);
    return rc;
}
int clock_gettime(clockid_t id, struct timespec *ts) {
    PASS(clock_gettime, id, ts);
    return clock_gettime_seen(__builtin_return_address(0), id, ts);
}

REAL(int, gettimeofday, (struct timeval *, void *))
int gettimeofday(struct timeval *tv, void *tz) {
    PASS(gettimeofday, tv, tz);
    int rc = real_gettimeofday()(tv, tz);
    report(ROTE_CLOCK, AT_FDCWD, NULL, (long)CLOCK_REALTIME, 0, "gettimeofday");
    return rc;
}

REAL(time_t, time, (time_t *))
time_t time(time_t *t) {
    PASS(time, t);
    time_t r = real_time()(t);
    report(ROTE_CLOCK, AT_FDCWD, NULL, (long)CLOCK_REALTIME, 0, "time");
    return r;
}

REAL(ssize_t, getrandom, (void *, size_t, unsigned int))
ssize_t getrandom(void *buf, size_t len, unsigned int flags) {
    PASS(getrandom, buf, len, flags);
    ssize_t r = real_getrandom()(buf, len, flags);
    report(ROTE_RANDOM, AT_FDCWD, NULL, (long)len, r < 0 ? errno : 0, "getrandom");
    return r;
}

/* ---- standard input ------------------------------------------------- */

/* Only descriptor 0 is of interest: any other read is a file's, already
 * seen when it was opened, and goes straight on. */
REAL(ssize_t, read, (int, void *, size_t))
static __attribute__((noinline, cold)) ssize_t read_seen(const void *caller, int fd, void *buf,
                                                         size_t n) {
    ssize_t r = real_read()(fd, buf, n);
    report_from(ROTE_STDIN, AT_FDCWD, NULL, (long)n, r < 0 ? errno : 0, "read", caller);
    return r;
}
ssize_t read(int fd, void *buf, size_t n) {
    if (fd != 0 || !watching())
        return real_read()(fd, buf, n);
    return read_seen(__builtin_return_address(0), fd, buf, n);
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
    PASS(socket, domain, type, protocol);
    int fd = real_socket()(domain, type, protocol);
    report(ROTE_NETWORK, AT_FDCWD, NULL, (long)domain, fd < 0 ? errno : 0, "socket");
    return fd;
}

REAL(int, connect, (int, const struct sockaddr *, socklen_t))
int connect(int fd, const struct sockaddr *addr, socklen_t len) {
    PASS(connect, fd, addr, len);
    int rc = real_connect()(fd, addr, len);
    report(ROTE_NETWORK, AT_FDCWD, NULL, addr ? (long)addr->sa_family : 0L,
               rc != 0 ? errno : 0, "connect");
    return rc;
}

REAL(pid_t, getpid, (void))
pid_t getpid(void) {
    PASS0(getpid);
    pid_t p = real_getpid()();
    report(ROTE_GETPID, AT_FDCWD, NULL, 0, 0, "getpid");
    return p;
}

REAL(char *, getenv, (const char *))
char *getenv(const char *name) {
    PASS(getenv, name);
    char *v = real_getenv()(name);
    report(ROTE_GETENV, AT_FDCWD, name, v != NULL, 0, "getenv");
    return v;
}
