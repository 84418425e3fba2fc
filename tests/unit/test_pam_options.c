/* pam_nhi/options.c: the module's arguments, the elevate mode's role= in
 * particular. A bad value keeps the default; it never widens a grant. */
#include "config.h"

#include <criterion/criterion.h>
#include <string.h>

#include "../../pam_nhi/options.h"
#include "conf.h"
#include "err.h"

static void parse(struct nhi_pam_options *opts, int argc, const char **argv)
{
	nhi_pam_options_parse(NULL, argc, argv, opts);
}

Test(pam_options, defaults)
{
	struct nhi_pam_options o;

	parse(&o, 0, NULL);
	cr_assert_eq(o.auth_mode, NHI_PAM_AUTH_BREAKGLASS);
	cr_assert_null(o.elevate_role);
	cr_assert_eq(o.timeout_ms, 2000);
}

Test(pam_options, elevate_with_role)
{
	const char *argv[] = {"elevate", "role=ops", "socket=/run/t.sock", "timeout_ms=500"};
	struct nhi_pam_options o;

	parse(&o, 4, argv);
	cr_assert_eq(o.auth_mode, NHI_PAM_AUTH_ELEVATE);
	cr_assert_str_eq(o.elevate_role, "ops");
	cr_assert_str_eq(o.socket_path, "/run/t.sock");
	cr_assert_eq(o.timeout_ms, 500);
}

Test(pam_options, bad_roles_keep_any_role_unset)
{
	const char *bad[] = {"role=", "role=a b", "role=ops\n", "role=x,y", "role=\x7f"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *argv[] = {"elevate", bad[i]};
		struct nhi_pam_options o;

		parse(&o, 2, argv);
		cr_assert_null(o.elevate_role, "accepted %s", bad[i]);
		cr_assert_eq(o.auth_mode, NHI_PAM_AUTH_ELEVATE);
	}
}

Test(pam_options, last_mode_wins_and_null_args_skipped)
{
	const char *argv[] = {"elevate", NULL, "breakglass", "unknown_thing"};
	struct nhi_pam_options o;

	parse(&o, 4, argv);
	cr_assert_eq(o.auth_mode, NHI_PAM_AUTH_BREAKGLASS);
}

/* The broker's grant policy keys in nhi.conf. */
Test(grant_config, defaults_and_values)
{
	struct nhi_config *cfg = NULL;
	char err[256] = "";

	cr_assert_eq(nhi_config_parse("t.conf", "", &cfg, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cfg->grant_ttl_max, 3600);
	cr_assert_eq(cfg->grant_approval, NHI_GRANT_APPROVAL_NONE);
	nhi_config_free(cfg);
	cr_assert_eq(nhi_config_parse("t.conf",
	                              "[policy]\ngrant_ttl_max = 15m\ngrant_approval = admin\n",
	                              &cfg, err, sizeof(err)),
	             0, "%s", err);
	cr_assert_eq(cfg->grant_ttl_max, 900);
	cr_assert_eq(cfg->grant_approval, NHI_GRANT_APPROVAL_ADMIN);
	nhi_config_free(cfg);
}

Test(grant_config, bad_values_name_the_line)
{
	struct nhi_config *cfg = NULL;
	char err[256] = "";

	cr_assert_lt(nhi_config_parse("t.conf", "[policy]\ngrant_approval = maybe\n", &cfg, err,
	                              sizeof(err)),
	             0);
	cr_assert_null(cfg);
	cr_assert(strstr(err, "t.conf:2") != NULL && strstr(err, "none or admin") != NULL, "%s",
	          err);
	cr_assert_lt(
	        nhi_config_parse("t.conf", "[policy]\ngrant_ttl_max = 0\n", &cfg, err, sizeof(err)),
	        0);
	cr_assert(strstr(err, "t.conf:2") != NULL, "%s", err);
}
