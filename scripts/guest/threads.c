/*
 * threads.c - the test guest's multi-threaded process (scripts/guest/init
 * runs it as /t/NAME for NAME:threads:N[:TCOMM]).  The main thread starts
 * N busy threads and then sleeps; with TCOMM each thread names itself
 * TCOMM-I (prctl PR_SET_NAME), otherwise it keeps the process's comm.
 * Built static by scripts/linux-guest (gcc -static -pthread).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

#define MAX_THREADS 64

static const char *tcomm;

static void *spin(void *arg)
{
	volatile unsigned long x = 0;
	if (tcomm) {
		char name[16];
		snprintf(name, sizeof name, "%s-%d", tcomm, (int)(long)arg);
		prctl(PR_SET_NAME, name, 0, 0, 0);
	}
	for (;;)
		x++;
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 2;
	pthread_t t[MAX_THREADS];
	if (n < 1 || n > MAX_THREADS)
		n = 2;
	tcomm = argc > 2 ? argv[2] : NULL;
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, spin, (void *)(long)(i + 1)) != 0)
			return 1;
	for (;;)
		pause();
}
