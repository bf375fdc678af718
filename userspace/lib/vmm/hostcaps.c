// SPDX-License-Identifier: GPL-2.0
/*
 * What this host offers a VM (KVM, vhost-vsock, /dev/katasbx, cgroup2, QEMU)
 * and the accelerator and channel chosen from it.
 */
#include "vmm/qemu.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#define QEMU_BIN "qemu-system-x86_64"

static bool dev_opens_rw(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static bool is_cgroup2(const char *path)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
}

bool kx_cpuinfo_line_has_virt(const char *line)
{
	const char *p;
	size_t n;

	if (strncmp(line, "flags", 5) != 0)
		return false;
	p = line + 5;
	p += strspn(p, " \t");
	if (*p != ':')
		return false;
	p++;
	for (;;) {
		p += strspn(p, " \t\n");
		if (!*p)
			return false;
		n = strcspn(p, " \t\n");
		if (n == 3 && (!strncmp(p, "vmx", 3) || !strncmp(p, "svm", 3)))
			return true;
		p += n;
	}
}

static bool cpu_has_virt(void)
{
	FILE *f = fopen("/proc/cpuinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	bool found = false;

	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0)
		found = kx_cpuinfo_line_has_virt(line);
	free(line);
	fclose(f);
	return found;
}

static void find_qemu(char *out, size_t outsz)
{
	const char *env = getenv("KATASBX_QEMU");
	const char *path = getenv("PATH");
	const char *p, *end;
	char cand[4096];
	struct stat st;

	out[0] = '\0';
	if (env && *env) {
		snprintf(out, outsz, "%s", env);
		return;
	}
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, ':');
		if (end == p)
			continue;
		if (snprintf(cand, sizeof(cand), "%.*s/%s", (int)(end - p), p, QEMU_BIN) >=
		    (int)sizeof(cand))
			continue;
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0 &&
		    strlen(cand) < outsz) {
			strcpy(out, cand);
			return;
		}
	}
}

void kx_hostcaps_probe(struct kx_hostcaps *caps)
{
	memset(caps, 0, sizeof(*caps));
	caps->kvm_dev = dev_opens_rw("/dev/kvm");
	caps->kvm_cpu = cpu_has_virt();
	caps->vhost_vsock = dev_opens_rw("/dev/vhost-vsock");
	caps->vhost_net = dev_opens_rw("/dev/vhost-net");
	caps->katasbx_dev = access("/dev/katasbx", F_OK) == 0;
	if (is_cgroup2("/sys/fs/cgroup")) {
		caps->cgroup2 = caps->cgroup2_pure = true;
		snprintf(caps->cgroup2_path, sizeof(caps->cgroup2_path), "/sys/fs/cgroup");
	} else if (is_cgroup2("/sys/fs/cgroup/unified")) {
		caps->cgroup2 = true;
		snprintf(caps->cgroup2_path, sizeof(caps->cgroup2_path),
			 "/sys/fs/cgroup/unified");
	}
	find_qemu(caps->qemu, sizeof(caps->qemu));
}

enum kx_accel kx_accel_choose(const struct kx_hostcaps *caps, enum kx_accel want,
			      const char **why)
{
	const char *dummy;

	if (!why)
		why = &dummy;
	switch (want) {
	case KX_ACCEL_KVM:
		*why = "KVM requested";
		return KX_ACCEL_KVM;
	case KX_ACCEL_TCG:
		*why = "TCG requested";
		return KX_ACCEL_TCG;
	case KX_ACCEL_AUTO:
		break;
	}
	if (caps->kvm_dev && caps->kvm_cpu) {
		*why = "/dev/kvm usable and vmx/svm in /proc/cpuinfo, using KVM";
		return KX_ACCEL_KVM;
	}
	if (caps->kvm_dev)
		*why = "no vmx/svm in /proc/cpuinfo: /dev/kvm is not usable for a stock guest "
		       "kernel here, using TCG";
	else
		*why = "/dev/kvm not available, using TCG";
	return KX_ACCEL_TCG;
}

enum kx_channel kx_channel_choose(const struct kx_hostcaps *caps, enum kx_channel want)
{
	if (want != KX_CHANNEL_AUTO)
		return want;
	return caps->vhost_vsock ? KX_CHANNEL_VSOCK : KX_CHANNEL_SERIAL;
}

const char *kx_accel_name(enum kx_accel a)
{
	switch (a) {
	case KX_ACCEL_AUTO:
		return "auto";
	case KX_ACCEL_KVM:
		return "kvm";
	case KX_ACCEL_TCG:
		return "tcg";
	}
	return "?";
}

const char *kx_channel_name(enum kx_channel c)
{
	switch (c) {
	case KX_CHANNEL_AUTO:
		return "auto";
	case KX_CHANNEL_SERIAL:
		return "serial";
	case KX_CHANNEL_VSOCK:
		return "vsock";
	}
	return "?";
}

int kx_accel_parse(const char *s, enum kx_accel *a)
{
	if (!s)
		return -1;
	if (!strcmp(s, "auto"))
		*a = KX_ACCEL_AUTO;
	else if (!strcmp(s, "kvm"))
		*a = KX_ACCEL_KVM;
	else if (!strcmp(s, "tcg"))
		*a = KX_ACCEL_TCG;
	else
		return -1;
	return 0;
}

int kx_channel_parse(const char *s, enum kx_channel *c)
{
	if (!s)
		return -1;
	if (!strcmp(s, "auto"))
		*c = KX_CHANNEL_AUTO;
	else if (!strcmp(s, "serial"))
		*c = KX_CHANNEL_SERIAL;
	else if (!strcmp(s, "vsock"))
		*c = KX_CHANNEL_VSOCK;
	else
		return -1;
	return 0;
}

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>

static bool cpu_has_flag(const char *flag)
{
	char line[8192];
	bool found = false;
	FILE *f = fopen("/proc/cpuinfo", "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *tok, *save;

		if (strncmp(line, "flags", 5))
			continue;
		for (tok = strtok_r(strchr(line, ':') ? strchr(line, ':') + 1 : line, " \t\n",
				    &save); tok; tok = strtok_r(NULL, " \t\n", &save))
			if (!strcmp(tok, flag))
				found = true;
		break;
	}
	fclose(f);
	return found;
}

static uint64_t mono_raw_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/*
 * Measured against CLOCK_MONOTONIC_RAW over 10 ms: accurate to well under
 * 0.1%, which is all a guest clock that the host resets needs. Only with a
 * constant-rate TSC; otherwise the guest calibrates for itself.
 */
static unsigned int cpuinfo_khz(void)
{
	char line[256];
	double mhz = 0;
	FILE *f = fopen("/proc/cpuinfo", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "cpu MHz", 7) && sscanf(strchr(line, ':') ? strchr(line, ':') + 1 : "",
							    "%lf", &mhz) == 1)
			break;
	fclose(f);
	return mhz > 0 ? (unsigned int)(mhz * 1000) : 0;
}

unsigned int kx_host_tsc_khz(void)
{
	static unsigned int khz;
	uint64_t t0, c0, t1, c1;
	struct timespec nap = { 0, 10 * 1000 * 1000 };

	if (khz)
		return khz;
	/*
	 * Without constant_tsc (a TCG VM's CPU, as the test VM's) the rate is
	 * not measured: the kernel's own calibration, /proc/cpuinfo's "cpu MHz",
	 * is what a guest gets. Told none, a TCG guest hangs calibrating (seen
	 * nested: no output in 300 s).
	 */
	if (!cpu_has_flag("constant_tsc"))
		return khz = cpuinfo_khz();
	t0 = mono_raw_ns();
	c0 = __rdtsc();
	nanosleep(&nap, NULL);
	t1 = mono_raw_ns();
	c1 = __rdtsc();
	if (t1 <= t0 || c1 <= c0)
		return 0;
	khz = (unsigned int)((c1 - c0) * 1000000ull / (t1 - t0));
	return khz;
}
#else
unsigned int kx_host_tsc_khz(void)
{
	return 0;
}
#endif
