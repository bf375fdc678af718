// SPDX-License-Identifier: GPL-2.0
/* katasbx-runtime: an OCI runtime command line that runs containers in micro-VMs. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "oci.h"
#include "runtime.h"
#include "state.h"

#include "commit.h"	/* KX_COMMIT, from git at build time */

static bool have_log_file;

static char **prog_argv;

int fail(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "katasbx-runtime: %s\n", msg);
	if (have_log_file)
		kx_log(KX_LOG_ERROR, "%s", msg);
	return 1;
}

int getopt_cmd(int argc, char **argv, const char *optstring, const struct option *longopts)
{
	char opts[64];
	const char *cmd = argv == prog_argv ? NULL : argv[0];
	int c;

	/* ':' after the '+': a missing value comes back as ':', not '?' */
	snprintf(opts, sizeof(opts), "+:%s", optstring + (optstring[0] == '+'));
	opterr = 0;
	c = getopt_long(argc, argv, opts, longopts, NULL);
	if (c != '?' && c != ':')
		return c;
	if (optopt && !(optind > 0 && !strncmp(argv[optind - 1], "--", 2)))
		fail("%s%sflag -%c %s", cmd ? cmd : "", cmd ? ": " : "", optopt,
		     c == ':' ? "needs a value" : "is not one of its flags (see --help)");
	else
		fail("%s%sflag %s %s", cmd ? cmd : "", cmd ? ": " : "", argv[optind - 1],
		     c == ':' ? "needs a value" : "is not one of its flags (see --help)");
	return '?';
}

int preserve_fds(const char *cmd, const char *arg)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(arg, &end, 10);
	if (errno || !*arg || *end || *arg == '-')
		return fail("%s: invalid value \"%s\" for flag --preserve-fds: not a count of "
			    "descriptors", cmd, arg);
	if (n)
		return fail("%s: --preserve-fds %lu: the container's processes run in a VM, "
			    "where descriptors of the host beyond stdio cannot be passed "
			    "(socket activation's LISTEN_FDS included)", cmd, n);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(struct kx_config *, int, char **);
	const char *help;
} commands[] = {
	{ "create", cmd_create, "create [--bundle DIR] [--pid-file FILE] [--console-socket SOCK] "
				"[--no-pivot] [--no-new-keyring] [--preserve-fds 0] ID" },
	{ "start", cmd_start, "start ID" },
	{ "run", cmd_run, "run [--bundle DIR] [--pid-file FILE] [--console-socket SOCK] [--detach] "
			  "[--keep] [--no-subreaper] [--no-pivot] [--no-new-keyring] [--preserve-fds 0] ID" },
	{ "state", cmd_state, "state ID" },
	{ "kill", cmd_kill, "kill [--all] ID [SIGNAL]" },
	{ "delete", cmd_delete, "delete [--force] ID" },
	{ "exec", cmd_exec, EXEC_USAGE },
	{ "update", cmd_update, "update [--resources FILE|-] [--memory SIZE] [--memory-reservation SIZE] "
				"[--memory-swap SIZE] [--cpu-share N] [--cpu-quota US] [--cpu-period US] "
				"[--cpuset-cpus LIST] [--cpuset-mems LIST] [--pids-limit N] ID" },
	{ "pause", cmd_pause, "pause ID" }, { "resume", cmd_resume, "resume ID" },
	{ "ps", cmd_ps, "ps [--format table|json] ID" },
	{ "events", cmd_events, "events [--stats] [--interval DURATION] ID" },
	{ "list", cmd_list, "list [--quiet] [--format table|json]" },
	{ "check", cmd_check, "check [--boot|--no-boot]" },
	{ "template", cmd_template, "template create | list | destroy KEY... | destroy --all" },
	{ "pool", cmd_pool, "pool [--size N] [--interfaces N]" },
	{ "spec", cmd_spec, "spec [--bundle DIR]" },
	{ "features", cmd_features, "features" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: katasbx-runtime [global options] COMMAND [options] ...\n\n"
		   "commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %s\n", commands[i].help);
	fprintf(f, "\nglobal options:\n"
		   "  --root DIR            state directory (default %s)\n"
		   "  --log FILE            log file (default stderr)\n"
		   "  --log-format FMT      text or json\n"
		   "  --debug               log what the runtime does, with timings\n"
		   "  --config FILE         settings file (default %s)\n"
		   "  --kernel FILE --initrd FILE   guest image\n"
		   "  --accel auto|kvm|tcg  --channel auto|serial|vsock\n"
		   "  --template on|off     clone sandboxes from a template VM (default on)\n"
		   "  --warm on|off         take a ready VM from the warm pool when one runs (default on)\n"
		   "  --memory MIB  --vcpus N  --boot-timeout MS\n"
		   "  --systemd-cgroup, --criu PATH, --rootless true|false|auto   runc's, taken\n",
		KX_DEFAULT_ROOT, KX_CONFIG_FILE);
}

/* A closed 0, 1 or 2 would be reused by our own fds and mistaken for stdio. */
static void ensure_stdio(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
}

int main(int argc, char **argv)
{
	enum { O_ROOT = 256, O_LOG, O_LOGFMT, O_DEBUG, O_CONFIG, O_KERNEL, O_INITRD, O_ACCEL,
	       O_CHANNEL, O_TEMPLATE, O_WARM, O_MEMORY, O_VCPUS, O_BOOT_TIMEOUT, O_SYSTEMD, O_CRIU,
	       O_ROOTLESS, O_VERSION, O_HELP };
	static const struct option opts[] = {
		{ "root", required_argument, NULL, O_ROOT },
		{ "log", required_argument, NULL, O_LOG },
		{ "log-format", required_argument, NULL, O_LOGFMT },
		{ "debug", no_argument, NULL, O_DEBUG },
		{ "config", required_argument, NULL, O_CONFIG },
		{ "kernel", required_argument, NULL, O_KERNEL },
		{ "initrd", required_argument, NULL, O_INITRD },
		{ "accel", required_argument, NULL, O_ACCEL },
		{ "channel", required_argument, NULL, O_CHANNEL },
		{ "template", required_argument, NULL, O_TEMPLATE },
		{ "warm", required_argument, NULL, O_WARM },
		{ "memory", required_argument, NULL, O_MEMORY },
		{ "vcpus", required_argument, NULL, O_VCPUS },
		{ "boot-timeout", required_argument, NULL, O_BOOT_TIMEOUT },
		{ "systemd-cgroup", no_argument, NULL, O_SYSTEMD },
		{ "criu", required_argument, NULL, O_CRIU },
		{ "rootless", required_argument, NULL, O_ROOTLESS },
		{ "version", no_argument, NULL, O_VERSION },
		{ "help", no_argument, NULL, O_HELP },
		{ 0 }
	};
	/* flag -> config key; applied after the config file so flags win */
	struct { const char *key; const char *val; } set[16];
	const char *log_path = NULL, *config_path = NULL;
	bool log_json = false, debug = false;
	struct kx_config cfg;
	struct kx_err err;
	size_t i, nset = 0;
	int c;

	ensure_stdio();
	kx_config_defaults(&cfg);
	prog_argv = argv;
	while ((c = getopt_cmd(argc, argv, "+hv", opts)) != -1) {
		switch (c) {
		case O_ROOT: set[nset++] = (typeof(set[0])){ "root", optarg }; break;
		case O_KERNEL: set[nset++] = (typeof(set[0])){ "kernel", optarg }; break;
		case O_INITRD: set[nset++] = (typeof(set[0])){ "initrd", optarg }; break;
		case O_ACCEL: set[nset++] = (typeof(set[0])){ "accel", optarg }; break;
		case O_CHANNEL: set[nset++] = (typeof(set[0])){ "channel", optarg }; break;
		case O_TEMPLATE: set[nset++] = (typeof(set[0])){ "template", optarg }; break;
		case O_WARM: set[nset++] = (typeof(set[0])){ "warm", optarg }; break;
		case O_MEMORY: set[nset++] = (typeof(set[0])){ "memory_mib", optarg }; break;
		case O_VCPUS: set[nset++] = (typeof(set[0])){ "vcpus", optarg }; break;
		case O_BOOT_TIMEOUT:
			set[nset++] = (typeof(set[0])){ "boot_timeout_ms", optarg };
			break;
		case O_LOG: log_path = optarg; break;
		case O_LOGFMT:
			if (strcmp(optarg, "text") && strcmp(optarg, "json"))
				return fail("--log-format: \"%s\" is not text or json", optarg);
			log_json = !strcmp(optarg, "json");
			break;
		case O_DEBUG: debug = true; break;
		case O_CONFIG: config_path = optarg; break;
		case O_SYSTEMD: cfg.systemd_cgroup = true; break;	/* cgroupsPath is systemd's */
		case O_CRIU: break;	/* runc's: no checkpoint here (see the command) */
		case O_ROOTLESS:
			/* runc's: ignore host cgroup permission errors; a VM's are its own */
			if (strcmp(optarg, "true") && strcmp(optarg, "false") && strcmp(optarg, "auto"))
				return fail("--rootless: \"%s\" is not true, false or auto", optarg);
			break;
		case O_VERSION: case 'v':
			printf("katasbx-runtime version %s\ncommit: %s\nspec: %s\n", KX_VERSION,
			       KX_COMMIT, KX_OCI_VERSION);
			return 0;
		case O_HELP: case 'h':
			usage(stdout);
			return 0;
		default:
			return 1;	/* getopt_cmd said which flag */
		}
		if (nset == sizeof(set) / sizeof(set[0]))
			return fail("too many options");
	}
	if (config_path ? kx_config_load(&cfg, config_path, true, &err) :
	    kx_config_load(&cfg, getenv("KATASBX_CONFIG") ? getenv("KATASBX_CONFIG") :
			   KX_CONFIG_FILE, getenv("KATASBX_CONFIG") != NULL, &err))
		return fail("%s", err.msg);
	for (i = 0; i < nset; i++)
		if (kx_config_set(&cfg, set[i].key, set[i].val, &err))
			return fail("--%s", err.msg);
	cfg.debug = cfg.debug || debug;
	if (kx_log_open(log_path, log_json, cfg.debug))
		return fail("open log %s: %m", log_path);
	have_log_file = log_path != NULL;

	if (optind >= argc) {
		usage(stderr);
		return 1;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(argv[optind], commands[i].name)) {
			argv += optind;
			argc -= optind;
			optind = 0;	/* glibc: a full re-init of getopt */
			if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
				printf("usage: katasbx-runtime [global options] %s\n"
				       "(global options: katasbx-runtime --help; all of it: "
				       "Documentation/runtime.md)\n", commands[i].help);
				return 0;
			}
			return commands[i].fn(&cfg, argc, argv);
		}
	}
	/* runc's commands that a VM cannot do as runc does them: say so, not "unknown" */
	if (!strcmp(argv[optind], "checkpoint") || !strcmp(argv[optind], "restore"))
		return fail("%s: not supported: a container's state is its VM's, which CRIU does "
			    "not checkpoint (pause keeps a VM as it is)", argv[optind]);
	return fail("unknown command \"%s\" (try --help)", argv[optind]);
}
