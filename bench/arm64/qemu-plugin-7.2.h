/*
 * qemu-plugin-7.2.h: the subset of QEMU's plugin API that this folder's plugins use, copied by hand
 * from QEMU 7.2's include/qemu/qemu-plugin.h (tag v7.2.0; unchanged up to 7.2.22, the version of
 * Debian bookworm's qemu-user 1:7.2+dfsg-7+deb12u18 it was checked against). Plugin API level of that
 * header: QEMU_PLUGIN_VERSION 1. Debian ships no header; QEMU resolves these functions from its own
 * executable when it dlopen()s a plugin, so nothing is linked.
 */
#ifndef IMGDEPLOY_QEMU_PLUGIN_7_2_H
#define IMGDEPLOY_QEMU_PLUGIN_7_2_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- begin: subset of qemu v7.2.0 include/qemu/qemu-plugin.h ---- */
#define QEMU_PLUGIN_EXPORT __attribute__((visibility("default")))

typedef uint64_t qemu_plugin_id_t;

extern QEMU_PLUGIN_EXPORT int qemu_plugin_version;

#define QEMU_PLUGIN_VERSION 1

typedef struct qemu_info_t {
    const char *target_name;
    struct {
        int min;
        int cur;
    } version;
    bool system_emulation;
    union {
        struct {
            int smp_vcpus;
            int max_vcpus;
        } system;
    };
} qemu_info_t;

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
                                           const qemu_info_t *info,
                                           int argc, char **argv);

typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index,
                                            void *userdata);

struct qemu_plugin_tb;

enum qemu_plugin_cb_flags {
    QEMU_PLUGIN_CB_NO_REGS,
    QEMU_PLUGIN_CB_R_REGS,
    QEMU_PLUGIN_CB_RW_REGS,
};

typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id,
                                               struct qemu_plugin_tb *tb);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
                                           qemu_plugin_vcpu_tb_trans_cb_t cb);

void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb,
                                          qemu_plugin_vcpu_udata_cb_t cb,
                                          enum qemu_plugin_cb_flags flags,
                                          void *userdata);

size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);

void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id,
                                    qemu_plugin_udata_cb_t cb, void *userdata);
struct qemu_plugin_insn;

struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);

const char *qemu_plugin_insn_symbol(const struct qemu_plugin_insn *insn);
/* ---- end: subset of qemu v7.2.0 include/qemu/qemu-plugin.h ---- */

#endif
