/* clock.h - the monotonic wall clock every stage timer reads (seconds, arbitrary origin). */
#ifndef TB_CLOCK_H
#define TB_CLOCK_H

/* Seconds on CLOCK_MONOTONIC: differences are elapsed wall time, unaffected by clock changes. */
double tb_now_s(void);

#endif
