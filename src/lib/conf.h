/*
 * conf.h - postern.conf and the domain table of the config directory.
 *
 * postern.conf is "key = value" lines with # comments; every key is in one
 * table with its type, default and bounds.  Unknown keys, bad values,
 * duplicate keys and unreadable files are errors naming file and line.
 * The domains are the folders under domains/; for each, conf_load() reads
 * the names (never the hashes) of its users file and the keys of its
 * aliases file, so recipient checks need no secret.
 */
#ifndef POSTERN_CONF_H
#define POSTERN_CONF_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "bounds.h"

struct err;

struct listen_addr {
	char	 host[64];	/* numeric address, no brackets */
	char	 port[8];
};

struct listen_list {
	struct listen_addr	 addr[LIM_LISTEN];
	size_t			 n;
};

/* one alias line "local: target, target" (or "*: target") */
struct alias {
	char	 *local;	/* lower case; "*" for the catch-all */
	char	**targets;	/* each a full address, or a local name */
	size_t	  ntargets;
	unsigned  lineno;	/* in the aliases file */
};

/* one senders line "user: address, @domain" */
struct sender_grant {
	char	 *user;		/* a local part of the domain's users */
	char	**addrs;	/* "local@domain" or "@domain", lower domain */
	size_t	  naddrs;
	unsigned  lineno;	/* in the senders file, for load errors */
};

struct domain {
	char		 name[LIM_DOMAIN + 1];	/* lower case */
	char		**users;		/* local parts, lower case, sorted */
	size_t		  nusers;
	struct alias	 *aliases;
	size_t		  naliases;
	bool		  catchall;
	struct sender_grant *senders;	/* the senders file, in file order */
	size_t		  nsenders;
	/* recipient normalisation (conf_norm.c): postern.conf's, unless the
	 * domain's domain.conf says otherwise */
	char		  suffix_sep[LIM_NORM_CHARS + 1];
	char		  drop_chars[LIM_NORM_CHARS + 1];
};

enum bare_lf_policy {
	BARE_LF_REJECT,		/* 550 the message at the end of DATA */
	BARE_LF_NORMALIZE,	/* store the line with CRLF */
};

/* how the queue makes a batch durable (docs/QUEUE-FORMAT.md) */
enum sync_method {
	SYNC_FILESYSTEM,	/* syncfs(2) of data_dir's filesystem */
	SYNC_FILE,		/* fdatasync each file, fsync each directory */
	SYNC_AUTO,		/* FILESYSTEM where known to hold (fsinfo.h),
				   else FILE; per filesystem */
};

struct conf {
	char			 dir[PATH_MAX];		/* config directory */
	char			 hostname[LIM_DOMAIN + 1];
	struct listen_list	 smtp_listen;		/* MX, port 25 */
	struct listen_list	 submission_listen;	/* 587, STARTTLS */
	struct listen_list	 submissions_listen;	/* 465, implicit TLS */
	char			 data_dir[PATH_MAX];
	char			 user[64];		/* unprivileged user */
	unsigned long long	 max_message_size;
	unsigned		 max_recipients;
	unsigned		 max_line_length;	/* DATA text line */
	unsigned		 max_errors;
	unsigned		 max_hops;
	unsigned		 idle_timeout;		/* seconds */
	unsigned		 session_timeout;	/* seconds */
	unsigned		 max_sessions;
	unsigned		 max_sessions_per_ip;
	unsigned		 auth_max_failures;
	unsigned		 auth_fail_delay_ms;
	unsigned		 smtp_workers;		/* 0: one per core */
	bool			 log_syslog;
	bool			 tls_required_587;	/* AUTH needs TLS anyway */
	enum bare_lf_policy	 bare_lf;
	enum sync_method	 sync_method;
	unsigned		 retry_min;		/* seconds, first retry */
	unsigned		 retry_max;		/* seconds, backoff cap */
	unsigned		 queue_lifetime;	/* seconds, give up after */
	unsigned		 delay_warning;		/* seconds; 0: none */
	char			 outbound_ip_family[16];	/* ipv6-first... */
	char			 outbound_source_ipv4[64];	/* "" any */
	char			 outbound_source_ipv6[64];
	unsigned		 outbound_max_connections;
	unsigned		 outbound_max_per_domain;
	bool			 outbound_plain_fallback;
	bool			 inbound_checks;	/* port 25 */
	bool			 dmarc_reject;		/* p=reject: 550 */
	bool			 spf_reject;		/* fail: 550 at MAIL */
	unsigned		 dkim_max_signatures;
	unsigned		 inbound_check_timeout;	/* seconds */
	char			 dns_resolver[80];	/* test knob; "" */
	/* DNSSEC trust anchor file, or "none" (CONF_TA_NONE): no validation */
	char			 dnssec_trust_anchor[PATH_MAX];
	unsigned		 outbound_smtp_port;	/* test knob; 25 */
	unsigned		 pipe_timeout;		/* seconds */
	char			 suffix_separators[LIM_NORM_CHARS + 1];
	char			 drop_characters[LIM_NORM_CHARS + 1];
	struct domain		*domains;
	size_t			  ndomains;
};

/* dnssec_trust_anchor's "no validation"; the default when the file is absent */
#define CONF_TA_NONE		"none"
/* dnssec_trust_anchor's default, when readable (Debian's dns-root-data) */
#define CONF_TA_DEFAULT		"/usr/share/dns/root.key"

/* conf_defaults - fill c with the built-in defaults, no domains */
void	conf_defaults(struct conf *c);
/* conf_load - read DIR/postern.conf and DIR/domains/ into c */
int	conf_load(struct conf *c, const char *dir, struct err *e);
/* conf_parse - parse postern.conf text (pure; for tests and fuzzing) */
int	conf_parse(struct conf *c, const char *text, size_t len,
	    const char *fname, struct err *e);
/*
 * conf_key_doc - the i-th key of postern.conf, for generated files: its
 * name, one line of help and its default as written in the file (empty
 * when computed at run time); -1 past the last key.
 */
int	conf_key_doc(size_t i, const char **name, const char **help,
	    char *def, size_t defsz);
/* conf_parse_aliases - parse an aliases file text into d (pure) */
int	conf_parse_aliases(struct domain *d, const char *text, size_t len,
	    const char *fname, struct err *e);
void	conf_free(struct conf *c);

/*
 * conf_norm.c: recipient normalisation.  domain_normalise - local (a
 * local part of d, any case) under d's rules: cut at the first of
 * suffix_sep after its first character (the suffix, separator included,
 * into suffix), then drop_chars removed; the base into base.  False, and
 * nothing written, when the rules change nothing or do not apply (SRS
 * addresses, postmaster, a base that would be empty).
 */
bool	domain_normalise(const struct domain *, const char *local,
	    char *base, size_t basesz, char *suffix, size_t suffixsz);
/* conf_parse_domain_conf - a domain's domain.conf (suffix_separators,
 * drop_characters) into d (pure) */
int	conf_parse_domain_conf(struct domain *, const char *text, size_t len,
	    const char *fname, struct err *);
/* conf_norm_chars - a value of those keys: punctuation an address's local
 * part may hold, at most LIM_NORM_CHARS, "=" excepted; "" or "none": none */
int	conf_norm_chars(const char *v, char *dst, size_t dstsz, char *why,
	    size_t whysz);

/* conf_domain - the local domain named (case-insensitive), or NULL */
const struct domain *conf_domain(const struct conf *, const char *name);
/* domain_has_user - is local (case-insensitive) a user of d? */
bool	domain_has_user(const struct domain *, const char *local);
/* domain_alias - the alias entry for local (exact, not catch-all), or NULL */
const struct alias *domain_alias(const struct domain *, const char *local);
/*
 * conf_parse_senders - parse a senders file; d's table replaced on
 * success (that each line's user is one of d's is checked at load)
 */
int	conf_parse_senders(struct domain *, const char *text, size_t len,
	    const char *fname, struct err *);
/*
 * domain_sender_granted - may user (a local part of d) send as addr by
 * d's senders file (the address itself, or "@" its domain)?
 */
bool	domain_sender_granted(const struct domain *, const char *user,
	    const char *addr);
/* domain_accepts - does d take mail for local: user, alias or catch-all? */
bool	domain_accepts(const struct domain *, const char *local);

#endif
