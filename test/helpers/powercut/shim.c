/*
 * Power-cut shim (LD_PRELOAD): a write-ahead undo log of every write to a regular file
 * under $POWERCUT_ROOT, appended to $POWERCUT_LOG before the write happens, plus a record
 * of every fsync/fdatasync/sync/syncfs. After the process is SIGKILLed (which keeps the
 * page cache, so the log is complete), test/helpers/powercut.ts undoes every write that
 * no sync made durable: the files are left as a power cut would leave them.
 *
 * Files are keyed by device + inode (renames keep their history). A descriptor is
 * classified at each call (fstat + /proc/self/fd readlink), so no per-descriptor state
 * can go stale across close/dup/fork. Writes through an O_SYNC/O_DSYNC descriptor are
 * durable when they return (LMDB writes its meta pages that way): logged as 'D' records.
 *
 * Record layout (native little-endian): struct rec, then path bytes, then data bytes.
 * The record is written before the write it describes, so a torn last record (SIGKILL
 * inside the log write) describes a write that never happened and is ignored.
 * One mutex covers log append + the real write, so old bytes read for the undo are
 * exactly what the write replaced, even with several threads (lmdb-js's libuv writers).
 *
 * The file events also drive an armed cut ($POWERCUT_ARM, see below).
 *
 * Not intercepted (not used by the daemon; documented in docs/power-cut.md): truncate(2)
 * by path, fallocate, copy_file_range, sendfile, pwritev2, io_uring (the harness sets
 * UV_USE_IO_URING=0). Writable shared mappings are logged ('M') so the harness can say
 * which files it could not model.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>


#define REC_MAGIC 0x54554350u /* "PCUT" */
enum { REC_WRITE = 1, REC_TRUNC = 2, REC_SYNC = 3, REC_DSYNC = 4, REC_MMAP = 5, REC_SYNC_ALL = 6 };

struct rec {
  uint32_t magic;
  uint32_t type;
  uint64_t seq;
  uint64_t dev;
  uint64_t ino;
  uint64_t a; /* WRITE/DSYNC: offset; TRUNC: new length; SYNC/SYNC_ALL: last seq covered */
  uint64_t b; /* WRITE/TRUNC: file size before */
  uint64_t c; /* WRITE/DSYNC: length written */
  uint32_t path_len;
  uint32_t data_len; /* old bytes (WRITE: the overwritten range inside the old size; TRUNC: the cut tail) */
};
_Static_assert(sizeof(struct rec) == 64, "test/helpers/powercut.ts reads a 64-byte header");

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
/*
 * $POWERCUT_ARM names a file the harness creates to cut *inside* the work: once it
 * exists (holding a number k), the process SIGKILLs itself right before its (k+1)-th
 * file event from then on (a write, an O_DSYNC write or a sync of a tracked file), so
 * the cut lands between two steps of a commit (data pages, fdatasync, meta page).
 */
static char arm_path[PATH_MAX];
static long countdown = -1;
static char root[PATH_MAX];
static size_t root_len;
static int log_fd = -1;
static uint64_t next_seq = 1;

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static ssize_t (*real_pwritev64)(int, const struct iovec *, int, off_t);
static int (*real_ftruncate)(int, off_t);
static int (*real_ftruncate64)(int, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static void (*real_sync)(void);
static int (*real_syncfs)(int);
static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static int (*real_creat)(const char *, mode_t);
static int (*real_creat64)(const char *, mode_t);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static void *(*real_mmap64)(void *, size_t, int, int, int, off_t);

#define RESOLVE(name) real_##name = dlsym(RTLD_NEXT, #name)

__attribute__((constructor)) static void powercut_init(void) {
  RESOLVE(write); RESOLVE(pwrite); RESOLVE(pwrite64); RESOLVE(writev); RESOLVE(pwritev); RESOLVE(pwritev64);
  RESOLVE(ftruncate); RESOLVE(ftruncate64); RESOLVE(fsync); RESOLVE(fdatasync); RESOLVE(sync); RESOLVE(syncfs);
  RESOLVE(open); RESOLVE(open64); RESOLVE(openat); RESOLVE(openat64); RESOLVE(creat); RESOLVE(creat64);
  RESOLVE(mmap); RESOLVE(mmap64);
  const char *r = getenv("POWERCUT_ROOT");
  const char *l = getenv("POWERCUT_LOG");
  if (r == NULL || l == NULL) return;
  if (realpath(r, root) == NULL) {
    fprintf(stderr, "powercut: POWERCUT_ROOT %s: %s\n", r, strerror(errno));
    abort();
  }
  root_len = strlen(root);
  const char *arm = getenv("POWERCUT_ARM");
  if (arm != NULL) snprintf(arm_path, sizeof arm_path, "%s", arm);
  /* Opened through the real call; O_APPEND keeps records whole if several processes log. */
  log_fd = real_open(l, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    fprintf(stderr, "powercut: POWERCUT_LOG %s: %s\n", l, strerror(errno));
    abort();
  }
}

/* Is fd a regular file under the root? Fills st and path (NUL-terminated). */
static int tracked(int fd, struct stat *st, char *path, size_t *path_len) {
  if (log_fd < 0 || fd < 0 || fd == log_fd) return 0;
  if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) return 0;
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, PATH_MAX - 1);
  if (n <= 0) return 0;
  path[n] = 0;
  if ((size_t)n <= root_len || strncmp(path, root, root_len) != 0 || path[root_len] != '/') return 0;
  *path_len = (size_t)n;
  return 1;
}

static void log_all(const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = real_write(log_fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      fprintf(stderr, "powercut: cannot append to the undo log: %s\n", strerror(errno));
      abort(); /* a missing undo record would make the cut weaker than claimed */
    }
    p += n;
    len -= (size_t)n;
  }
}

/* Counts a file event toward an armed cut; dies when it is due. The caller holds the lock. */
static void event(void) {
  if (arm_path[0] == 0) return;
  if (countdown < 0) {
    int fd = real_open(arm_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char buf[32] = {0};
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    countdown = n > 0 ? strtol(buf, NULL, 10) : 0;
  }
  if (countdown == 0) kill(getpid(), SIGKILL);
  countdown--;
}

/* Appends one record; the caller holds the lock. data_len bytes of old content are read at data_off. */
static void append(uint32_t type, int fd, const struct stat *st, const char *path, size_t path_len,
                   uint64_t a, uint64_t b, uint64_t c, off_t data_off, size_t data_len) {
  size_t total = sizeof(struct rec) + path_len + data_len;
  char *buf = malloc(total);
  if (buf == NULL) abort();
  struct rec *r = (struct rec *)buf;
  r->magic = REC_MAGIC;
  r->type = type;
  r->seq = next_seq++;
  r->dev = st->st_dev;
  r->ino = st->st_ino;
  r->a = a;
  r->b = b;
  r->c = c;
  r->path_len = (uint32_t)path_len;
  r->data_len = (uint32_t)data_len;
  memcpy(buf + sizeof *r, path, path_len);
  char *data = buf + sizeof *r + path_len;
  /* A write-only descriptor cannot be read: read the same inode through /proc. */
  int rfd = fd;
  if (data_len > 0 && (fcntl(fd, F_GETFL) & O_ACCMODE) == O_WRONLY) {
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    rfd = real_open(link, O_RDONLY | O_CLOEXEC);
  }
  size_t got = 0;
  while (rfd >= 0 && got < data_len) {
    ssize_t n = pread(rfd, data + got, data_len - got, data_off + (off_t)got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  if (rfd != fd && rfd >= 0) close(rfd);
  if (got < data_len) {
    fprintf(stderr, "powercut: cannot read the old bytes of %s\n", path);
    abort(); /* an incomplete undo record would make the cut weaker than claimed */
  }
  r->data_len = (uint32_t)got;
  log_all(buf, sizeof *r + path_len + got);
  free(buf);
}

/* Logs the undo of a write of len bytes at off (off < 0: the descriptor's position). Lock held. */
static void before_write(int fd, off_t off, size_t len) {
  struct stat st;
  char path[PATH_MAX];
  size_t path_len;
  if (!tracked(fd, &st, path, &path_len)) return;
  event();
  int fl = fcntl(fd, F_GETFL);
  if (off < 0) off = (fl >= 0 && (fl & O_APPEND)) ? st.st_size : lseek(fd, 0, SEEK_CUR);
  if (off < 0) return;
  if (fl >= 0 && (fl & (O_SYNC | O_DSYNC))) {
    append(REC_DSYNC, fd, &st, path, path_len, (uint64_t)off, 0, len, 0, 0);
    return;
  }
  size_t old = 0;
  if (off < st.st_size) old = (size_t)(st.st_size - off) < len ? (size_t)(st.st_size - off) : len;
  append(REC_WRITE, fd, &st, path, path_len, (uint64_t)off, (uint64_t)st.st_size, len, off, old);
}

static size_t iov_len(const struct iovec *iov, int n) {
  size_t t = 0;
  for (int i = 0; i < n; i++) t += iov[i].iov_len;
  return t;
}

ssize_t write(int fd, const void *b, size_t n) {
  pthread_mutex_lock(&lock);
  before_write(fd, -1, n);
  ssize_t r = real_write(fd, b, n);
  pthread_mutex_unlock(&lock);
  return r;
}

ssize_t pwrite(int fd, const void *b, size_t n, off_t off) {
  pthread_mutex_lock(&lock);
  before_write(fd, off, n);
  ssize_t r = real_pwrite(fd, b, n, off);
  pthread_mutex_unlock(&lock);
  return r;
}

ssize_t pwrite64(int fd, const void *b, size_t n, off_t off) {
  pthread_mutex_lock(&lock);
  before_write(fd, off, n);
  ssize_t r = real_pwrite64(fd, b, n, off);
  pthread_mutex_unlock(&lock);
  return r;
}

ssize_t writev(int fd, const struct iovec *iov, int cnt) {
  pthread_mutex_lock(&lock);
  before_write(fd, -1, iov_len(iov, cnt));
  ssize_t r = real_writev(fd, iov, cnt);
  pthread_mutex_unlock(&lock);
  return r;
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off) {
  pthread_mutex_lock(&lock);
  before_write(fd, off, iov_len(iov, cnt));
  ssize_t r = real_pwritev(fd, iov, cnt, off);
  pthread_mutex_unlock(&lock);
  return r;
}

ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off) {
  pthread_mutex_lock(&lock);
  before_write(fd, off, iov_len(iov, cnt));
  ssize_t r = real_pwritev64(fd, iov, cnt, off);
  pthread_mutex_unlock(&lock);
  return r;
}

/* Logs a size change to len (the cut tail's bytes when shrinking). Lock held. */
static void before_truncate(int fd, off_t len) {
  struct stat st;
  char path[PATH_MAX];
  size_t path_len;
  if (!tracked(fd, &st, path, &path_len)) return;
  size_t tail = len < st.st_size ? (size_t)(st.st_size - len) : 0;
  append(REC_TRUNC, fd, &st, path, path_len, (uint64_t)len, (uint64_t)st.st_size, 0, len, tail);
}

int ftruncate(int fd, off_t len) {
  pthread_mutex_lock(&lock);
  before_truncate(fd, len);
  int r = real_ftruncate(fd, len);
  pthread_mutex_unlock(&lock);
  return r;
}

int ftruncate64(int fd, off_t len) {
  pthread_mutex_lock(&lock);
  before_truncate(fd, len);
  int r = real_ftruncate64(fd, len);
  pthread_mutex_unlock(&lock);
  return r;
}

/*
 * A sync covers the records logged before it started, not the writes other threads
 * make while it runs: the record carries the last sequence number seen at its start
 * and is appended only after the real call succeeded (the caller cannot act on a
 * sync before it returns).
 */
static int synced(int fd, int (*fn)(int), uint32_t type) {
  struct stat st;
  char path[PATH_MAX];
  size_t path_len = 0;
  if (type == REC_SYNC_ALL) memset(&st, 0, sizeof st);
  pthread_mutex_lock(&lock);
  int counts = type == REC_SYNC_ALL ? log_fd >= 0 : tracked(fd, &st, path, &path_len);
  if (counts) event();
  uint64_t covered = next_seq - 1;
  pthread_mutex_unlock(&lock);
  int r = fn(fd);
  if (r != 0 || !counts) return r;
  int saved = errno;
  pthread_mutex_lock(&lock);
  append(type, fd, &st, path, path_len, covered, 0, 0, 0, 0);
  pthread_mutex_unlock(&lock);
  errno = saved;
  return r;
}

int fsync(int fd) { return synced(fd, real_fsync, REC_SYNC); }
int fdatasync(int fd) { return synced(fd, real_fdatasync, REC_SYNC); }
int syncfs(int fd) { return synced(fd, real_syncfs, REC_SYNC_ALL); }

static int sync_all(int fd) {
  (void)fd;
  real_sync();
  return 0;
}

void sync(void) { (void)synced(-1, sync_all, REC_SYNC_ALL); }

/* O_TRUNC on an existing tracked file discards its content: log it before opening. */
static void before_open(int dirfd, const char *p, int flags) {
  if (log_fd < 0 || !(flags & O_TRUNC) || !(flags & (O_WRONLY | O_RDWR))) return;
  int fd = real_openat(dirfd, p, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  pthread_mutex_lock(&lock);
  before_truncate(fd, 0);
  pthread_mutex_unlock(&lock);
  close(fd);
}

static mode_t mode_arg(int flags, va_list ap) {
  return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *p, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t m = mode_arg(flags, ap);
  va_end(ap);
  before_open(AT_FDCWD, p, flags);
  return real_open(p, flags, m);
}

int open64(const char *p, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t m = mode_arg(flags, ap);
  va_end(ap);
  before_open(AT_FDCWD, p, flags);
  return real_open64(p, flags, m);
}

int openat(int dirfd, const char *p, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t m = mode_arg(flags, ap);
  va_end(ap);
  before_open(dirfd, p, flags);
  return real_openat(dirfd, p, flags, m);
}

int openat64(int dirfd, const char *p, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t m = mode_arg(flags, ap);
  va_end(ap);
  before_open(dirfd, p, flags);
  return real_openat64(dirfd, p, flags, m);
}

int creat(const char *p, mode_t m) {
  before_open(AT_FDCWD, p, O_WRONLY | O_TRUNC);
  return real_creat(p, m);
}

int creat64(const char *p, mode_t m) {
  before_open(AT_FDCWD, p, O_WRONLY | O_TRUNC);
  return real_creat64(p, m);
}

/* Writes through a shared writable mapping bypass this log: say so. */
static void note_mmap(int prot, int flags, int fd) {
  if (!(prot & PROT_WRITE) || !(flags & MAP_SHARED) || fd < 0) return;
  struct stat st;
  char path[PATH_MAX];
  size_t path_len;
  pthread_mutex_lock(&lock);
  if (tracked(fd, &st, path, &path_len)) append(REC_MMAP, fd, &st, path, path_len, 0, 0, 0, 0, 0);
  pthread_mutex_unlock(&lock);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
  note_mmap(prot, flags, fd);
  return real_mmap(addr, len, prot, flags, fd, off);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
  note_mmap(prot, flags, fd);
  return real_mmap64(addr, len, prot, flags, fd, off);
}
