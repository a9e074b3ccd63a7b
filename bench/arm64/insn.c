/*
 * insn.c: a QEMU TCG plugin that counts the guest instructions executed by every guest thread
 * of a linux-user run (qemu-aarch64) and, when QEMU exits, writes the total as one line
 *
 *     insns=<N>
 *
 * to the file named by the plugin argument out=<path> (or to stderr without one).
 *
 *   cc -shared -fPIC -O2 -o insn.so insn.c          (make -C bench/arm64 does this)
 *   qemu-aarch64 -L <sysroot> -plugin ./insn.so,out=/tmp/count <guest program> [args...]
 *
 * How it counts: at translation time each translation block (TB) gets an execution callback whose
 * user data is the TB's instruction count; the callback adds it to a counter of the vCPU that runs
 * it. In linux-user every guest thread is its own vCPU on its own host thread (MTTCG), and a live
 * vCPU's index is unique, so each counter slot has one writer at a time (a relaxed atomic load +
 * store, no lock prefix); indexes past the slot table share one counter updated with an atomic add.
 * QEMU's inline add op (qemu_plugin_register_vcpu_tb_exec_inline) is faster but not atomic, so
 * under MTTCG it loses counts: it is deliberately not used.
 *
 * What "instructions" means here: guest (aarch64) user-space instructions of TBs that were entered.
 * A TB left early by a fault is counted whole (rare in practice); kernel work done for syscalls is
 * not counted at all. Only the process that loaded the plugin writes the result: a fork()ed child
 * inherits the counters but stays silent, and an exec()ed program is not instrumented.
 *
 * The API declarations are in qemu-plugin-7.2.h, the subset of QEMU 7.2's
 * include/qemu/qemu-plugin.h (tag v7.2.0; the file is unchanged up to 7.2.22, the version of
 * Debian bookworm's qemu-user 1:7.2+dfsg-7+deb12u18 that this was checked against). Plugin API
 * level of that header: QEMU_PLUGIN_VERSION 1. QEMU resolves the functions from its own
 * executable when it dlopen()s this library, so nothing is linked here.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qemu-plugin-7.2.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

/* One counter per vCPU index, each on its own cache line so threads do not share lines. */
#define SLOTS 4096
struct slot {
    uint64_t n;
    char pad[64 - sizeof(uint64_t)];
};
static struct slot slots[SLOTS] __attribute__((aligned(64)));
static uint64_t overflow; /* vCPU indexes >= SLOTS, updated with atomic adds */

static const char *out_path; /* points into argv, which QEMU keeps alive */
static pid_t owner_pid;

static void tb_exec(unsigned int vcpu_index, void *udata)
{
    uint64_t n = (uint64_t)(uintptr_t)udata;
    if (vcpu_index < SLOTS) {
        uint64_t *p = &slots[vcpu_index].n;
        __atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
    } else {
        __atomic_fetch_add(&overflow, n, __ATOMIC_RELAXED);
    }
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, QEMU_PLUGIN_CB_NO_REGS,
                                         (void *)(uintptr_t)n);
}

static void at_exit(qemu_plugin_id_t id, void *udata)
{
    (void)id;
    (void)udata;
    if (getpid() != owner_pid) {
        return; /* a fork()ed child: the parent reports */
    }
    uint64_t total = __atomic_load_n(&overflow, __ATOMIC_RELAXED);
    for (size_t i = 0; i < SLOTS; i++) {
        total += __atomic_load_n(&slots[i].n, __ATOMIC_RELAXED);
    }
    char line[64];
    int len = snprintf(line, sizeof line, "insns=%" PRIu64 "\n", total);
    if (out_path) {
        FILE *f = fopen(out_path, "w");
        if (f && fwrite(line, 1, (size_t)len, f) == (size_t)len && fclose(f) == 0) {
            return;
        }
        fprintf(stderr, "insn plugin: cannot write %s; %s", out_path, line);
        return;
    }
    fputs(line, stderr);
    fflush(stderr);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
                                           const qemu_info_t *info,
                                           int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "out=", 4) == 0 && argv[i][4] != '\0') {
            out_path = argv[i] + 4;
        } else {
            fprintf(stderr, "insn plugin: unknown argument '%s' (only out=<path>)\n", argv[i]);
            return -1;
        }
    }
    if (info->system_emulation) {
        /* Works there too, but the per-vCPU reasoning above is about linux-user threads. */
        fprintf(stderr, "insn plugin: note: system emulation, counting all vCPUs\n");
    }
    owner_pid = getpid();
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
