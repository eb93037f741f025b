// Configuration (instruction set, thread count) and the process-wide thread pool behind parallelFor (runtime.h).
//
// The pool replaces the threads every call used to start and join: its workers are started once (lazily, up to
// the largest thread count asked for) and sleep on a condition variable between jobs. A job is split exactly as
// before — about 16 chunks per thread, handed out through one atomic counter, the caller working too — so which
// chunks a thread computes never matters to the result. Several callers (Node worker_threads) may run jobs at
// once: a job takes the helpers that are free, and its caller works through whatever chunks are left, so a job
// always finishes even when every worker is busy elsewhere. After fork() the child has none of the parent's
// workers: it abandons the parent's pool (never touching its mutex, which a vanished thread may hold) and starts
// its own on first use.
#include "runtime.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>

#ifndef _WIN32
#include <pthread.h>
#endif

namespace sbn {
namespace {

// ---- configuration -----------------------------------------------------------------------------------------------

std::once_flag g_initOnce;
std::atomic<const Isa*> g_isa{nullptr};
std::atomic<int> g_threads{1};

bool cpuHasAvx2() {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

bool cpuHasAvx512() {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  return cpuHasAvx2() && __builtin_cpu_supports("avx512f");
#else
  return false;
#endif
}

void initOnce() {
  std::call_once(g_initOnce, [] {
    g_isa.store(bestIsa());
    g_threads.store(defaultThreads());
  });
}

// ---- the thread pool ---------------------------------------------------------------------------------------------

/** One parallelRun: its chunks, and the first exception any thread raised in it. */
struct Job {
  RangeFn fn;
  const void* ctx;
  size_t units, grain;
  std::atomic<size_t> next{0};
  size_t helpersWanted = 0;  // helpers it may still take (guarded by the pool's mutex)
  size_t helpersInside = 0;  // helpers working on it now (guarded by the pool's mutex)
  std::mutex failMutex;
  std::exception_ptr failure;

  Job(RangeFn fn_, const void* ctx_, size_t units_, size_t grain_) : fn(fn_), ctx(ctx_), units(units_), grain(grain_) {}

  /** Takes chunks until none is left; an exception ends the job for every thread (the remaining chunks are skipped). */
  void work() {
    try {
      for (;;) {
        const size_t b = next.fetch_add(grain);
        if (b >= units) return;
        fn(ctx, b, std::min(units, b + grain));
      }
    } catch (...) {
      next.store(units);
      std::lock_guard<std::mutex> lock(failMutex);
      if (!failure) failure = std::current_exception();
    }
  }
};

class ThreadPool {
 public:
  /** Runs `job` on the calling thread and up to `helpers` pool threads; returns when every one has left it. */
  void run(Job& job, size_t helpers) {
    size_t available;
    bool everyWorker;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      grow(helpers);
      available = std::min(helpers, workers_.size());
      everyWorker = available == workers_.size();
      job.helpersWanted = available;
      if (available > 0) open_.push_back(&job);
    }
    if (everyWorker) {
      wake_.notify_all();
    } else {
      for (size_t i = 0; i < available; i++) wake_.notify_one();
    }
    job.work();
    std::unique_lock<std::mutex> lock(mutex_);
    open_.erase(std::remove(open_.begin(), open_.end(), &job), open_.end());  // no helper joins from now on
    done_.wait(lock, [&] { return job.helpersInside == 0; });
  }

  /** Stops and joins the workers (a job still open is finished by its caller). */
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
    workers_.clear();
  }

 private:
  /** Starts workers up to `count`; where the system refuses a thread, the pool stays smaller. */
  void grow(size_t count) {
    while (workers_.size() < count) {
      try {
        workers_.emplace_back([this] { workerLoop(); });
      } catch (const std::system_error&) {
        return;
      }
    }
  }

  void workerLoop() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stopping_ || !open_.empty(); });
      if (stopping_) return;
      Job* job = open_.front();
      job->helpersInside++;
      if (--job->helpersWanted == 0) open_.erase(open_.begin());
      lock.unlock();
      job->work();
      lock.lock();
      if (--job->helpersInside == 0) done_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;  // workers: a job is open, or stop
  std::condition_variable done_;  // callers: a helper left a job
  std::vector<std::thread> workers_;
  std::vector<Job*> open_;  // jobs that still take helpers, oldest first
  bool stopping_ = false;
};

// The pool, created on first use. Heap-allocated and never a static with a destructor: a process that exits
// without tearing its environments down (process.exit) must not destroy joinable std::threads (std::terminate).
std::mutex g_poolMutex;
ThreadPool* g_pool = nullptr;
int g_poolHolders = 0;  // Node environments that loaded the addon and are not torn down

#ifndef _WIN32
std::once_flag g_forkHandlersOnce;
void lockPoolForFork() { g_poolMutex.lock(); }
void unlockPoolInParent() { g_poolMutex.unlock(); }
void abandonPoolInChild() {
  g_pool = nullptr;  // its workers do not exist here; leaked on purpose (see the file's comment)
  g_poolMutex.unlock();
}
#endif

ThreadPool& pool() {
#ifndef _WIN32
  std::call_once(g_forkHandlersOnce, [] { pthread_atfork(lockPoolForFork, unlockPoolInParent, abandonPoolInChild); });
#endif
  std::lock_guard<std::mutex> lock(g_poolMutex);
  if (!g_pool) g_pool = new ThreadPool();
  return *g_pool;
}

}  // namespace

// ---- configuration -----------------------------------------------------------------------------------------------

int defaultThreads() {
  if (const char* env = std::getenv("SBN_KERNEL_THREADS")) {
    const long v = std::strtol(env, nullptr, 10);
    if (v > 0) return static_cast<int>(std::min<long>(v, kMaxThreads));
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int>(hw) : 1;
}

const Isa* isaByName(const std::string& name) {
  if (name == "scalar") return isaScalar();
  if (name == "avx2") return cpuHasAvx2() ? isaAvx2() : nullptr;
  if (name == "avx512") return cpuHasAvx512() ? isaAvx512() : nullptr;
  return nullptr;
}

const Isa* bestIsa() {
  if (const char* env = std::getenv("SBN_KERNEL_ISA")) {
    if (const Isa* isa = isaByName(env)) return isa;
  }
  if (cpuHasAvx512() && isaAvx512()) return isaAvx512();
  if (cpuHasAvx2() && isaAvx2()) return isaAvx2();
  return isaScalar();
}

const Isa* currentIsa() {
  initOnce();
  return g_isa.load();
}

void setCurrentIsa(const Isa* isa) {
  initOnce();
  g_isa.store(isa);
}

int currentThreads() {
  initOnce();
  return g_threads.load();
}

int setCurrentThreads(long long n) {
  initOnce();
  g_threads.store(n > 0 ? static_cast<int>(std::min<long long>(n, kMaxThreads)) : defaultThreads());
  return g_threads.load();
}

// ---- the thread pool ---------------------------------------------------------------------------------------------

void parallelRun(size_t units, double work, RangeFn fn, const void* ctx) {
  size_t nt = static_cast<size_t>(std::max(1, currentThreads()));
  nt = std::min(nt, units);
  nt = std::min(nt, static_cast<size_t>(std::max(1.0, work / 32768.0)));
  if (nt <= 1) {
    if (units > 0) fn(ctx, size_t{0}, units);
    return;
  }
  Job job(fn, ctx, units, std::max<size_t>(1, units / (16 * nt)));  // about 16 chunks per thread
  pool().run(job, nt - 1);
  if (job.failure) std::rethrow_exception(job.failure);
}

void holdPool() {
  std::lock_guard<std::mutex> lock(g_poolMutex);
  g_poolHolders++;
}

void releasePool() {
  ThreadPool* last = nullptr;
  {
    std::lock_guard<std::mutex> lock(g_poolMutex);
    if (--g_poolHolders == 0) std::swap(last, g_pool);
  }
  if (last) {
    last->stop();
    delete last;
  }
}

// ---- scratch -----------------------------------------------------------------------------------------------------

Workspace& threadWorkspace() {
  thread_local Workspace workspace;
  return workspace;
}

}  // namespace sbn
