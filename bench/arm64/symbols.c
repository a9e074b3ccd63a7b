/*
 * symbols.c: a QEMU 7.2 TCG plugin that says where a linux-user run's instructions go, by symbol of
 * the guest program (the functions of a binary that keeps its symbol table; shared libraries loaded
 * by the dynamic loader show as "?"). At exit it writes, to out=<path> or stderr, the total and
 * the top=<N> (default 40) symbols by instructions, one per line: "<count> <share>% <symbol>".
 * Mangled Rust names: pipe through c++filt.
 *
 *   qemu-aarch64 -L <sysroot> -plugin ./symbols.so,out=/tmp/prof,top=30 <unstripped program> ...
 *
 * Each translation block is charged to the symbol of its first instruction. The QEMU declarations
 * are in qemu-plugin-7.2.h.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu-plugin-7.2.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

/* One entry per symbol (QEMU returns the same pointer for the same symbol), in an open-addressed
 * table filled at translation time under a lock; counts are added with atomics at execution. */
#define ENTRIES (1 << 16)
struct entry {
    const char *symbol;
    uint64_t count;
};
static struct entry table[ENTRIES];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const char *out_path;
static int top = 40;

struct block {
    struct entry *entry;
    uint64_t n;
};

static struct entry *entry_of(const char *symbol)
{
    const char *key = symbol ? symbol : "?";
    size_t h = ((uintptr_t)symbol >> 3) * 0x9E3779B97F4A7C15ull >> 48;
    for (size_t i = 0; i < ENTRIES; i++) {
        struct entry *e = &table[(h + i) & (ENTRIES - 1)];
        if (e->symbol == key || e->symbol == NULL) {
            e->symbol = key;
            return e;
        }
    }
    return &table[0]; /* full: charge the first entry */
}

static void tb_exec(unsigned int vcpu_index, void *udata)
{
    (void)vcpu_index;
    struct block *b = udata;
    __atomic_fetch_add(&b->entry->count, b->n, __ATOMIC_RELAXED);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    struct block *b = malloc(sizeof *b);
    if (!b) {
        return;
    }
    b->n = qemu_plugin_tb_n_insns(tb);
    const char *symbol = qemu_plugin_insn_symbol(qemu_plugin_tb_get_insn(tb, 0));
    pthread_mutex_lock(&lock);
    b->entry = entry_of(symbol);
    pthread_mutex_unlock(&lock);
    qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, QEMU_PLUGIN_CB_NO_REGS, b);
}

static int by_count(const void *a, const void *b)
{
    uint64_t x = ((const struct entry *)a)->count, y = ((const struct entry *)b)->count;
    return x < y ? 1 : x > y ? -1 : 0;
}

static void at_exit(qemu_plugin_id_t id, void *udata)
{
    (void)id;
    (void)udata;
    uint64_t total = 0;
    for (size_t i = 0; i < ENTRIES; i++) {
        total += table[i].count;
    }
    qsort(table, ENTRIES, sizeof table[0], by_count);
    FILE *f = out_path ? fopen(out_path, "w") : stderr;
    if (!f) {
        f = stderr;
    }
    fprintf(f, "%" PRIu64 " 100.00%% total\n", total);
    for (int i = 0; i < top && i < ENTRIES && table[i].count; i++) {
        fprintf(f, "%" PRIu64 " %.2f%% %s\n", table[i].count, 100.0 * table[i].count / (total ? total : 1),
                table[i].symbol);
    }
    if (f != stderr) {
        fclose(f);
    }
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc,
                                           char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "out=", 4) == 0 && argv[i][4]) {
            out_path = argv[i] + 4;
        } else if (strncmp(argv[i], "top=", 4) == 0) {
            top = atoi(argv[i] + 4);
        } else {
            fprintf(stderr, "symbols plugin: unknown argument '%s' (out=<path>, top=<N>)\n", argv[i]);
            return -1;
        }
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
