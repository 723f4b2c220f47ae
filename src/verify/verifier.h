/*
 * verifier.h - the verifier process: the inbound checks of the smtp
 * workers' transactions (M_V_REQ, M_V_RES), with DNS, on verify/check.c.
 */
#ifndef POSTERN_VERIFIER_H
#define POSTERN_VERIFIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct check;
struct conf;

/*
 * verifier_main - serve the channels socks[0..n) (one per smtp worker of
 * a generation) until the last one closes, then exit.  Runs unprivileged,
 * with its own DNS context from conf (dns_resolver, dnssec_trust_anchor).
 */
void	verifier_main(const struct conf *, const int *socks, size_t n)
	    __attribute__((noreturn));

/*
 * verifier_verdict - what the checks c say of a transaction under conf's
 * policy (spf_only: the check at MAIL FROM): enum v_verdict, with the
 * whole reply line in reply for a refusal ("" for V_ACCEPT).  Pure.
 */
uint32_t verifier_verdict(const struct conf *, const struct check *c,
	    bool spf_only, char *reply, size_t replysz);

#endif
