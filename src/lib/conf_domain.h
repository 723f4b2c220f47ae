/*
 * conf_domain.h - private to the conf module: how conf.c has conf_domain.c
 * load and release the domain table.  The lookups and conf_parse_aliases()
 * are public and declared in conf.h.  Not for other modules.
 */
#ifndef POSTERN_CONF_DOMAIN_H
#define POSTERN_CONF_DOMAIN_H

struct conf;
struct domain;
struct err;

/*
 * conf_domain_load_table - every folder of domains/ under the config
 * directory fd cfd (none is fine) into c->domains; c is changed only on
 * success.
 */
int	conf_domain_load_table(struct conf *c, int cfd, struct err *e);
/* conf_domain_free_table - release c's domain table and empty it */
void	conf_domain_free_table(struct conf *c);

/* conf_senders_free - release d's senders table (conf_senders.c) */
void	conf_senders_free(struct domain *d);

#endif
