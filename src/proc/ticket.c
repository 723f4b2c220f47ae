/*
 * ticket.c - authentication tickets (ticket.h): HMAC-SHA256 of
 * "postern-auth-1", the user and the issue time (8 octets, big-endian),
 * NUL-separated, under a 32-octet key from the kernel's random source.
 * The key lives in this file's static storage: made by the parent before
 * it forks, inherited by every child, wiped by those that must not have
 * it.  Comparison is constant-time.
 */
#include <sys/random.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "log.h"
#include "ticket.h"

#define TICKET_KEY	32
#define TICKET_TAG	"postern-auth-1"

static unsigned char	ticket_key[TICKET_KEY];
static bool		ticket_have;

/* ticket_init - a fresh random key */
void
ticket_init(void)
{
	size_t	got = 0;
	ssize_t	n;

	while (got < sizeof(ticket_key)) {
		n = getrandom(ticket_key + got, sizeof(ticket_key) - got, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			fatal("getrandom");
		got += (size_t)n;
	}
	ticket_have = true;
}

/* ticket_forget - wipe the key */
void
ticket_forget(void)
{
	OPENSSL_cleanse(ticket_key, sizeof(ticket_key));
	ticket_have = false;
}

/* ticket_now - CLOCK_BOOTTIME seconds: one clock for every process */
uint64_t
ticket_now(void)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_BOOTTIME, &ts) == -1)
		fatal("clock_gettime");
	return (uint64_t)ts.tv_sec;
}

/* ticket_mac - the 32-octet MAC of (user, issued) */
static void
ticket_mac(const char *user, uint64_t issued, unsigned char mac[32])
{
	unsigned char	 data[sizeof(TICKET_TAG) + 320 + 8];
	size_t		 ulen = strlen(user), n = 0, outlen = 0;
	int		 i;

	if (ulen > 320)
		ulen = 320;	/* longer users never get this far */
	memcpy(data, TICKET_TAG, sizeof(TICKET_TAG));	/* with its NUL */
	n = sizeof(TICKET_TAG);
	memcpy(data + n, user, ulen);
	n += ulen;
	data[n++] = '\0';
	for (i = 7; i >= 0; i--)
		data[n++] = (unsigned char)(issued >> (8 * i));
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, ticket_key,
	    sizeof(ticket_key), data, n, mac, 32, &outlen) == NULL ||
	    outlen != 32)
		fatalx("ticket: HMAC-SHA256 failed");
}

/* ticket_make - the ticket of user at issued, in hex */
void
ticket_make(const char *user, uint64_t issued, char out[TICKET_HEX + 1])
{
	static const char	hex[] = "0123456789abcdef";
	unsigned char		mac[32];
	size_t			i;

	if (!ticket_have)
		fatalx("ticket: no key in this process");
	ticket_mac(user, issued, mac);
	for (i = 0; i < sizeof(mac); i++) {
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 0xf];
	}
	out[TICKET_HEX] = '\0';
}

/* ticket_check - is hex the ticket of (user, issued), and still good? */
enum ticket_verdict
ticket_check(const char *user, uint64_t issued, const char *hex,
    uint64_t now, uint64_t ttl)
{
	char	want[TICKET_HEX + 1];

	if (!ticket_have || strlen(hex) != TICKET_HEX)
		return TICKET_BAD;
	ticket_make(user, issued, want);
	if (CRYPTO_memcmp(want, hex, TICKET_HEX) != 0)
		return TICKET_BAD;
	if (issued > now + TICKET_SKEW || (now > ttl && issued < now - ttl))
		return TICKET_EXPIRED;
	return TICKET_OK;
}
