// SPDX-License-Identifier: Apache-2.0
/*
 * The pod's sandbox process for selftests/cri, as Kubernetes' pause does:
 * it holds the pod's namespaces doing nothing, reaps what is reparented to it
 * (it is pid 1 of a shared pid namespace), and exits 0 on SIGINT or SIGTERM.
 * Built with `gcc -static` into a one-file image: no registry is reached.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int sig)
{
	static const char msg[] = "pause: shutting down\n";

	(void)sig;
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(0);
}

static void on_child(int sig)
{
	int saved = errno;

	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	errno = saved;
}

int main(int argc, char **argv)
{
	struct sigaction stop = { .sa_handler = on_stop };
	struct sigaction child = { .sa_handler = on_child, .sa_flags = SA_NOCLDSTOP | SA_RESTART };

	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		puts("pause (katasbx selftests)");
		return 0;
	}
	if (getpid() != 1)
		fprintf(stderr, "pause: warning: not pid 1\n");
	if (sigaction(SIGINT, &stop, NULL) < 0 || sigaction(SIGTERM, &stop, NULL) < 0 ||
	    sigaction(SIGCHLD, &child, NULL) < 0) {
		perror("pause: sigaction");
		return 1;
	}
	for (;;)
		pause();
}
