/* probes.h - USDT probes (provider "gilheap") for perf, bpftrace and
 * SystemTap, from <sys/sdt.h> (Debian: systemtap-sdt-dev).
 *
 * A probe is a nop instruction and an ELF note (.note.stapsdt) that names
 * it and says where its arguments are; a tracer that enables it patches
 * the nop into a breakpoint. Not enabled, it costs that nop, and the
 * arguments must exist in a register or memory at that point (each is a
 * value the slow path has at hand). Only on slow paths. Built without the
 * header (GH_HAVE_SDT 0) each probe is nothing.
 *
 *   probe              arguments                              where
 *   gil_take           thread, previous holder (-2: none)     sync/gil_lock.h
 *   gil_drop           thread                                 sync/gil_lock.h
 *   gil_drop_request   thread asking, holder                  sync/gil_lock.c
 *   gil_handoff        thread (a forced drop: the taker took   sync/gil_lock.c
 *                      it; gil_drop came before it)
 *   lock_wait_begin    lock address                           base/mutex.c, spinlock.c, oblock.c
 *   lock_wait_end      lock address, class (-1: shared), ns   base/timeline.h, rc/locked.c
 *   stw_begin          stopping thread                        base/stw.c
 *   stw_stopped        stopping thread, threads waited for,   base/stw.c
 *                      ns to the safepoint
 *   stw_end            stopping thread                        base/stw.c
 *   gc_start           thread, generation                     gc/collect.fl.c
 *   gc_end             thread, generation, objects collected  gc/collect.fl.c
 *   hazard             thread, kind (base/hazard.h), op name  base/base.c
 *
 * Threads are worker indices, -1 for the main thread. docs/probes.md has
 * the perf and bpftrace lines.
 *
 * Layer: base.
 */
#ifndef GH_BASE_PROBES_H
#define GH_BASE_PROBES_H

#if defined(GH_HAVE_SDT) && GH_HAVE_SDT
#include <sys/sdt.h>
#define GH_PROBE1(name, a)          STAP_PROBE1(gilheap, name, a)
#define GH_PROBE2(name, a, b)       STAP_PROBE2(gilheap, name, a, b)
#define GH_PROBE3(name, a, b, c)    STAP_PROBE3(gilheap, name, a, b, c)
#else
#define GH_PROBE1(name, a)          ((void)0)
#define GH_PROBE2(name, a, b)       ((void)0)
#define GH_PROBE3(name, a, b, c)    ((void)0)
#endif

#endif
