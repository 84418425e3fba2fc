#include <config.h>

#include "accounts_fixture.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "support.h"

void accounts_fixture_open(struct accounts_fixture *f, const char *passwd_text,
                           const char *group_text, uint32_t uid_min, uint32_t uid_max)
{
	char *db;
	int r;

	memset(f, 0, sizeof(*f));
	f->dir = test_mkdtemp();
	f->passwd_path = test_path(f->dir, "passwd");
	f->group_path = test_path(f->dir, "group");
	f->cache_path = test_path(f->dir, "nss.cache");
	test_write_file(f->passwd_path, passwd_text, strlen(passwd_text), 0644);
	test_write_file(f->group_path, group_text, strlen(group_text), 0644);
	db = test_path(f->dir, "nhi.db");
	r = nhi_store_open(db, &f->store);
	cr_assert_eq(r, 0, "open: %s", nhi_strerror(r));
	free(db);
	f->params = (struct nhi_account_params){
	        .passwd_path = f->passwd_path,
	        .group_path = f->group_path,
	        .uid_min = uid_min,
	        .uid_max = uid_max,
	        .quarantine = 100,
	        .now = 1000000,
	};
	cr_assert_eq(nhi_store_begin(f->store), 0);
}

void accounts_fixture_add(struct accounts_fixture *f, const char *name, enum nhi_identity_kind kind,
                          int64_t uid, int64_t gid, const char *gecos, const char *home,
                          const char *shell)
{
	struct nhi_identity id;
	int r;

	nhi_identity_init(&id);
	id.name = (char *)name;
	id.kind = kind;
	id.uid = uid;
	id.gid = gid;
	id.gecos = (char *)gecos;
	id.home = (char *)home;
	id.shell = (char *)shell;
	r = nhi_store_identity_add(f->store, &id, NULL);
	cr_assert_eq(r, 0, "add %s: %s", name, nhi_strerror(r));
}

void accounts_fixture_close(struct accounts_fixture *f)
{
	nhi_store_rollback(f->store);
	nhi_store_close(f->store);
	test_rmtree(f->dir);
	free(f->passwd_path);
	free(f->group_path);
	free(f->cache_path);
	free(f->dir);
	memset(f, 0, sizeof(*f));
}
