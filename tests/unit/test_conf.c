#include "config.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

/* The project's config.h, not the build's. */
#include "conf.h"
#include "err.h"
#include "support.h"

Test(config, defaults)
{
	struct nhi_config *cfg = NULL;

	cr_assert_eq(nhi_config_defaults(&cfg), 0);
	cr_assert_str_eq(cfg->socket_path, "/run/nhi/broker.sock");
	cr_assert_str_eq(cfg->state_dir, "/var/lib/nhi");
	cr_assert_null(cfg->ca_key_path);
	cr_assert_str_eq(cfg->admin_group, "nhi-admin");
	cr_assert_str_eq(cfg->helper_user, "nhi");
	cr_assert_eq(cfg->log_level, LOG_INFO);
	cr_assert_eq(cfg->human_ttl_default, 3600);
	cr_assert_eq(cfg->human_ttl_max, 28800);
	cr_assert_eq(cfg->automation_ttl_default, 300);
	cr_assert_eq(cfg->automation_ttl_max, 3600);
	cr_assert_eq(cfg->backdate, 60);
	cr_assert_eq(cfg->keys_mode, NHI_KEYS_OBSERVE);
	cr_assert_eq(cfg->keys_broker_down, NHI_BROKER_DOWN_ALLOW);
	cr_assert_eq(cfg->keys_grace, 0);
	cr_assert_eq(cfg->n_key_files, 2);
	cr_assert_str_eq(cfg->key_files[0], "%h/.ssh/authorized_keys");
	cr_assert_str_eq(cfg->key_files[1], "%h/.ssh/authorized_keys2");
	cr_assert_null(cfg->chain_command);
	cr_assert_eq(cfg->helper_timeout_ms, 2000);
	cr_assert_eq(cfg->uid_min, 70000);
	cr_assert_eq(cfg->uid_max, 79999);
	cr_assert_str_eq(cfg->default_shell, "/bin/bash");
	cr_assert_str_eq(cfg->home_base, "/home");
	nhi_config_free(cfg);
	nhi_config_free(NULL);
}

Test(config, empty_text_gives_defaults)
{
	struct nhi_config *cfg = NULL;
	char err[256] = "";

	cr_assert_eq(nhi_config_parse("t.conf", "", &cfg, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cfg->human_ttl_max, 28800);
	nhi_config_free(cfg);
	cr_assert_eq(nhi_config_parse("t.conf", "# only a comment\n\n[broker]\n", &cfg, err,
				      sizeof(err)),
		     0, "%s", err);
	cr_assert_str_eq(cfg->socket_path, "/run/nhi/broker.sock");
	nhi_config_free(cfg);
}

static const char full_config[] =
	"\xef\xbb\xbf# nhi configuration\n"
	"[broker]\n"
	"socket = /run/nhi-test/broker.sock\n"
	"state_dir = /srv/nhi\n"
	"ca_key = /etc/nhi/ca/user_ca\n"
	"admin_group = ops-admins\n"
	"helper_user = nhi-helper\n"
	"log_level = debug\n"
	"\n"
	"; durations\n"
	"[policy]\n"
	"  human_ttl_default = 2h\n"
	"  human_ttl_max = 12h\r\n"
	"  automation_ttl_default = 120s\n"
	"  automation_ttl_max = 30m   ; inline comment\n"
	"  backdate = 0\n"
	"[sshd]\n"
	"keys_mode = enforce\n"
	"keys_broker_down = deny\n"
	"keys_grace = 14d\n"
	"key_files = %h/.ssh/authorized_keys, /etc/ssh/keys/%u ,%h/.ssh/100%%\n"
	"chain_command = /usr/bin/ec2-instance-connect %u %f\n"
	"helper_timeout_ms = 1500\n"
	"[nss]\n"
	"uid_min = 100000\n"
	"uid_max = 199999\n"
	"default_shell = /bin/zsh\n"
	"home_base = /srv/home\n";

Test(config, full_valid_file)
{
	struct nhi_config *cfg = NULL;
	char err[256] = "";

	cr_assert_eq(nhi_config_parse("t.conf", full_config, &cfg, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_str_eq(cfg->socket_path, "/run/nhi-test/broker.sock");
	cr_assert_str_eq(cfg->state_dir, "/srv/nhi");
	cr_assert_str_eq(cfg->ca_key_path, "/etc/nhi/ca/user_ca");
	cr_assert_str_eq(cfg->admin_group, "ops-admins");
	cr_assert_str_eq(cfg->helper_user, "nhi-helper");
	cr_assert_eq(cfg->log_level, LOG_DEBUG);
	cr_assert_eq(cfg->human_ttl_default, 7200);
	cr_assert_eq(cfg->human_ttl_max, 43200);
	cr_assert_eq(cfg->automation_ttl_default, 120);
	cr_assert_eq(cfg->automation_ttl_max, 1800);
	cr_assert_eq(cfg->backdate, 0);
	cr_assert_eq(cfg->keys_mode, NHI_KEYS_ENFORCE);
	cr_assert_eq(cfg->keys_broker_down, NHI_BROKER_DOWN_DENY);
	cr_assert_eq(cfg->keys_grace, 14 * 86400);
	cr_assert_eq(cfg->n_key_files, 3);
	cr_assert_str_eq(cfg->key_files[0], "%h/.ssh/authorized_keys");
	cr_assert_str_eq(cfg->key_files[1], "/etc/ssh/keys/%u");
	cr_assert_str_eq(cfg->key_files[2], "%h/.ssh/100%%");
	cr_assert_null(cfg->key_files[3]);
	cr_assert_str_eq(cfg->chain_command, "/usr/bin/ec2-instance-connect %u %f");
	cr_assert_eq(cfg->helper_timeout_ms, 1500);
	cr_assert_eq(cfg->uid_min, 100000);
	cr_assert_eq(cfg->uid_max, 199999);
	cr_assert_str_eq(cfg->default_shell, "/bin/zsh");
	cr_assert_str_eq(cfg->home_base, "/srv/home");
	nhi_config_free(cfg);
}

Test(config, key_files_none)
{
	struct nhi_config *cfg = NULL;
	char err[256] = "";

	cr_assert_eq(nhi_config_parse("t.conf", "[sshd]\nkey_files = none\n", &cfg, err,
				      sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(cfg->n_key_files, 0);
	cr_assert_null(cfg->key_files[0]);
	nhi_config_free(cfg);
}

struct bad_case {
	const char *text;
	const char *want;
};

static const struct bad_case bad_cases[] = {
	{"[bogus]\nx = 1\n", "t.conf:1: unknown section [bogus]"},
	{"[broker]\nsocket = /x\n[extra]\n", "t.conf:3: unknown section [extra]"},
	{"socket = /x\n", "t.conf:1: key 'socket' outside a section"},
	{"[broker]\nsockt = /x\n", "t.conf:2: unknown key 'sockt' in [broker]"},
	{"[nss]\nsocket = /x\n", "t.conf:2: unknown key 'socket' in [nss]"},
	{"[broker]\ncaf\xc3\xa9 = 1\n", "t.conf:2: unknown key 'caf\\xc3\\xa9' in [broker]"},
	{"[broker]\nsocket = /a\n\n[broker]\nsocket = /b\n",
	 "t.conf:5: duplicate key 'socket' (first set on line 2)"},
	{"[broker]\nthis is not a pair\n",
	 "t.conf:2: syntax error (expected [section] or key = value)"},
	{"[broker\nsocket = /x\n", "t.conf:1: syntax error (expected [section] or key = value)"},
	{"[broker]\nsocket =\n", "t.conf:2: socket: empty value"},
	{"[broker]\nstate_dir = var/lib/nhi\n",
	 "t.conf:2: state_dir: 'var/lib/nhi': must be an absolute path"},
	{"[broker]\nstate_dir = /var/lib/../../etc\n",
	 "t.conf:2: state_dir: '/var/lib/../../etc': must not contain \"..\""},
	{"[broker]\nstate_dir = /var/lib/nhi # comment\n",
	 "t.conf:2: state_dir: '/var/lib/nhi # comment': must not contain blanks or control "
	 "characters"},
	{"[broker]\nsocket = /run/"
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	 "aaaaaaaaaaaaaaaaaaa.sock\n",
	 "t.conf:2: socket: '/run/"
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	 "aaaaaaaaaaaaaaaaaaa.sock': too long for a socket path"},
	{"[broker]\nadmin_group = Admins\n",
	 "t.conf:2: admin_group: 'Admins': not a valid user or group name"},
	{"[broker]\nhelper_user = ../root\n",
	 "t.conf:2: helper_user: '../root': not a valid user or group name"},
	{"[broker]\nlog_level = loud\n",
	 "t.conf:2: log_level: 'loud': unknown level (use error, warning, notice, info or debug)"},
	{"[policy]\nbackdate = abc\n", "t.conf:2: backdate: 'abc': not a duration"},
	{"[policy]\nbackdate = 2h\n", "t.conf:2: backdate: '2h': exceeds 1h"},
	{"[policy]\nhuman_ttl_max = 5x\n",
	 "t.conf:2: human_ttl_max: '5x': unknown unit (use s, m, h or d)"},
	{"[policy]\nhuman_ttl_max = 5hours\n",
	 "t.conf:2: human_ttl_max: '5hours': trailing garbage after duration"},
	{"[policy]\nhuman_ttl_max = 99999999999\n",
	 "t.conf:2: human_ttl_max: '99999999999': duration out of range"},
	{"[policy]\nhuman_ttl_max = 0\n", "t.conf:2: human_ttl_max: '0': must be at least 1s"},
	{"[policy]\nhuman_ttl_max = 8d\n",
	 "t.conf:2: human_ttl_max: '8d': exceeds the 7d cap on certificate lifetimes"},
	{"[policy]\nhuman_ttl_default = 9h\n",
	 "t.conf:2: human_ttl_default (9h) exceeds human_ttl_max (8h)"},
	{"[policy]\nhuman_ttl_default = 2h\n\nhuman_ttl_max = 90m\n",
	 "t.conf:4: human_ttl_default (2h) exceeds human_ttl_max (90m)"},
	{"[policy]\nautomation_ttl_max = 4m\n",
	 "t.conf:2: automation_ttl_default (5m) exceeds automation_ttl_max (4m)"},
	{"[sshd]\nkeys_mode = strict\n", "t.conf:2: keys_mode: 'strict': must be observe or enforce"},
	{"[sshd]\nkeys_broker_down = maybe\n",
	 "t.conf:2: keys_broker_down: 'maybe': must be allow or deny"},
	{"[sshd]\nkeys_grace = -1\n", "t.conf:2: keys_grace: '-1': not a duration"},
	{"[sshd]\nhelper_timeout_ms = 12abc\n",
	 "t.conf:2: helper_timeout_ms: '12abc': trailing garbage after number"},
	{"[sshd]\nhelper_timeout_ms = 4294967296\n",
	 "t.conf:2: helper_timeout_ms: '4294967296': number out of range"},
	{"[sshd]\nhelper_timeout_ms = 0\n",
	 "t.conf:2: helper_timeout_ms: '0': must be between 1 and 60000"},
	{"[sshd]\nhelper_timeout_ms = two\n", "t.conf:2: helper_timeout_ms: 'two': not a number"},
	{"[sshd]\nkey_files = %h/.ssh/authorized_keys, .ssh/keys\n",
	 "t.conf:2: key_files: '.ssh/keys': must be an absolute path or start with %h/"},
	{"[sshd]\nkey_files = %h/.ssh/%x\n",
	 "t.conf:2: key_files: '%h/.ssh/%x': unknown token (use %h, %u or %%)"},
	{"[sshd]\nkey_files = /a,,/b\n", "t.conf:2: key_files: '': empty entry"},
	{"[sshd]\nkey_files = %h/../../etc/shadow\n",
	 "t.conf:2: key_files: '%h/../../etc/shadow': must not contain \"..\""},
	{"[sshd]\nkey_files = /1,/2,/3,/4,/5,/6,/7,/8,/9\n", "t.conf:2: key_files: more than 8 files"},
	{"[sshd]\nchain_command = ec2-instance-connect %u\n",
	 "t.conf:2: chain_command: 'ec2-instance-connect %u': must start with an absolute path"},
	{"[nss]\nuid_min = 500\n",
	 "t.conf:2: uid_min: '500': must be at least 1000 (below are system accounts)"},
	{"[nss]\nuid_min = 80000\nuid_max = 75000\n",
	 "t.conf:3: uid_min (80000) is greater than uid_max (75000)"},
	{"[nss]\nuid_min = 90000\n", "t.conf:2: uid_min (90000) is greater than uid_max (79999)"},
	{"[nss]\nuid_min = 60000\n", "t.conf:2: uid range 60000-79999 includes 65534 (nobody)"},
	{"[nss]\nuid_max = 4294967295\n", "t.conf:2: uid_max: '4294967295': number out of range"},
	{"[nss]\nhome_base = home\n", "t.conf:2: home_base: 'home': must be an absolute path"},
	{"[nss]\n\x01 = 1\n", "t.conf:2: control character in line"},
	/* The first error wins, even after later ones. */
	{"[broker]\nlog_level = x\nbogus = 1\n",
	 "t.conf:2: log_level: 'x': unknown level (use error, warning, notice, info or debug)"},
};

Test(config, errors_name_file_and_line)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct nhi_config *cfg = (struct nhi_config *)0x1;
		char err[512] = "";
		int r = nhi_config_parse("t.conf", bad_cases[i].text, &cfg, err, sizeof(err));

		cr_expect_eq(r, NHI_ERR_CONFIG, "case %zu: returned %d", i, r);
		cr_expect_eq(cfg, (struct nhi_config *)0x1, "case %zu: ret touched", i);
		cr_expect_str_eq(err, bad_cases[i].want, "case %zu", i);
	}
}

Test(config, long_line_refused)
{
	char text[400], err[256] = "";
	struct nhi_config *cfg = NULL;

	strcpy(text, "[broker]\nstate_dir = /");
	memset(text + strlen(text), 'a', 300);
	text[sizeof("[broker]\nstate_dir = /") - 1 + 300] = '\0';
	strcat(text, "\n");
	cr_assert_eq(nhi_config_parse("t.conf", text, &cfg, err, sizeof(err)), NHI_ERR_CONFIG);
	cr_assert_str_eq(err, "t.conf:2: line too long (max 199 bytes)");
	cr_assert_null(cfg);
}

Test(config, small_error_buffer_is_safe)
{
	char err[8];
	struct nhi_config *cfg = NULL;

	cr_assert_eq(nhi_config_parse("t.conf", "[x]\n", &cfg, err, sizeof(err)), NHI_ERR_CONFIG);
	cr_assert_str_eq(err, "t.conf:");
	cr_assert_eq(nhi_config_parse("t.conf", "[x]\n", &cfg, NULL, 0), NHI_ERR_CONFIG);
}

static char *dir;

static void setup(void)
{
	dir = test_mkdtemp();
}

static void teardown(void)
{
	test_rmtree(dir);
	free(dir);
}

Test(config, load_file, .init = setup, .fini = teardown)
{
	char *p = test_path(dir, "nhi.conf");
	struct nhi_config *cfg = NULL;
	char err[512] = "";

	test_write_file(p, full_config, strlen(full_config), 0644);
	cr_assert_eq(nhi_config_load(p, &cfg, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cfg->uid_min, 100000);
	nhi_config_free(cfg);
	free(p);
}

Test(config, load_reports_path_and_line, .init = setup, .fini = teardown)
{
	char *p = test_path(dir, "nhi.conf");
	struct nhi_config *cfg = NULL;
	char err[512] = "", *want;
	static const char text[] = "[policy]\n\nbackdate = soon\n";

	test_write_file(p, text, strlen(text), 0600);
	cr_assert_eq(nhi_config_load(p, &cfg, err, sizeof(err)), NHI_ERR_CONFIG);
	cr_assert(asprintf(&want, "%s:3: backdate: 'soon': not a duration", p) > 0);
	cr_assert_str_eq(err, want);
	cr_assert_null(cfg);
	free(want);
	free(p);
}

Test(config, load_refuses_nul_byte, .init = setup, .fini = teardown)
{
	char *p = test_path(dir, "nhi.conf");
	struct nhi_config *cfg = NULL;
	char err[512] = "", *want;
	static const char text[] = "[broker]\nsocket = /x\0\n[bogus]\n";

	test_write_file(p, text, sizeof(text) - 1, 0600);
	cr_assert_eq(nhi_config_load(p, &cfg, err, sizeof(err)), NHI_ERR_CONFIG);
	cr_assert(asprintf(&want, "%s:2: NUL byte in file", p) > 0);
	cr_assert_str_eq(err, want);
	free(want);
	free(p);
}

Test(config, load_refuses_unsafe_files, .init = setup, .fini = teardown)
{
	char *p = test_path(dir, "nhi.conf");
	char *l = test_path(dir, "link.conf");
	struct nhi_config *cfg = NULL;
	char err[512] = "";

	test_write_file(p, "[broker]\n", 9, 0600);
	cr_assert_eq(chmod(p, 0620), 0);
	cr_assert_eq(nhi_config_load(p, &cfg, err, sizeof(err)), NHI_ERR_FILE_UNSAFE);
	cr_assert_not_null(strstr(err, "refusing to read"), "%s", err);
	cr_assert_eq(strncmp(err, p, strlen(p)), 0, "%s", err);
	cr_assert_null(cfg);

	cr_assert_eq(chmod(p, 0644), 0);
	cr_assert_eq(symlink(p, l), 0);
	cr_assert_eq(nhi_config_load(l, &cfg, err, sizeof(err)), NHI_ERR_FILE_UNSAFE);
	cr_assert_null(cfg);

	cr_assert_eq(nhi_config_load(dir, &cfg, err, sizeof(err)), NHI_ERR_FILE_UNSAFE);
	free(l);
	free(p);
}

Test(config, load_missing_file, .init = setup, .fini = teardown)
{
	char *p = test_path(dir, "absent.conf");
	struct nhi_config *cfg = NULL;
	char err[512] = "", *want;

	cr_assert_eq(nhi_config_load(p, &cfg, err, sizeof(err)), NHI_ERR_NOT_FOUND);
	cr_assert(asprintf(&want, "%s: %s", p, strerror(ENOENT)) > 0);
	cr_assert_str_eq(err, want);
	free(want);
	free(p);
}

Test(config, durations)
{
	static const struct {
		const char *text;
		uint32_t want;
	} good[] = {
		{"0", 0},       {"300", 300},          {"300s", 300},
		{"5m", 300},    {"1h", 3600},          {"8h", 28800},
		{"2d", 172800}, {"4294967295", 4294967295u}, {"49710d", 49710u * 86400u},
		{"0007m", 420},
	};
	static const char *const bad[] = {
		"", "s", "m5", "5x", "5mm", "-5", "+5", " 5", "5 ", "5 m", "1h30m", "1.5h",
		"4294967296", "49711d", "71582789m", "1193047h", "99999999999999999999", "5S",
	};
	uint32_t v;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = 12345;
		cr_expect_eq(nhi_parse_duration(good[i].text, &v), 0, "\"%s\"", good[i].text);
		cr_expect_eq(v, good[i].want, "\"%s\" -> %u", good[i].text, v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 12345;
		cr_expect_eq(nhi_parse_duration(bad[i], &v), NHI_ERR_INVALID_FORMAT, "\"%s\"",
			     bad[i]);
		cr_expect_eq(v, 12345, "\"%s\": output touched", bad[i]);
	}
	cr_assert_eq(nhi_parse_duration(NULL, &v), NHI_ERR_INVALID_FORMAT);
	cr_assert_eq(nhi_parse_duration("5", NULL), NHI_ERR_INVALID_ARGUMENT);
}

Test(config, uid_quarantine)
{
	struct nhi_config *cfg = NULL;
	char err[256] = "";

	cr_assert_eq(nhi_config_parse("t.conf", "", &cfg, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(cfg->uid_quarantine, 90u * 86400u);
	nhi_config_free(cfg);
	cfg = NULL;
	cr_assert_eq(nhi_config_parse("t.conf", "[nss]\nuid_quarantine = 30d\n", &cfg, err,
	                              sizeof(err)),
	             0, "%s", err);
	cr_expect_eq(cfg->uid_quarantine, 30u * 86400u);
	nhi_config_free(cfg);
	cfg = NULL;
	cr_expect_neq(nhi_config_parse("t.conf", "[nss]\nuid_quarantine = soon\n", &cfg, err,
	                               sizeof(err)),
	              0);
	cr_expect(strstr(err, "uid_quarantine") != NULL, "%s", err);
	cr_expect_null(cfg);
}
