#!/bin/bash
# Writes seed corpora for the fuzz harnesses, one directory per harness:
# valid keys, certificates, KRLs and authorized_keys lines made with
# ssh-keygen right now, plus small hand-written edge cases. The keys live
# in a temporary directory that is removed on exit; only public blobs,
# certificates and KRLs are left in the corpus.
#
# usage: gen-seeds.sh SSH_KEYGEN OUTDIR
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 SSH_KEYGEN OUTDIR" >&2
	exit 2
fi
keygen=$1
out=$2

mkdir -p "$out"
tmp=$(mktemp -d "$out/keys.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

for h in fuzz_buf fuzz_sshkey fuzz_cert fuzz_krl fuzz_authkeys fuzz_nsscache fuzz_authinfo; do
	rm -rf "${out:?}/$h"
	mkdir -p "$out/$h"
done

# Binary writers for hand-made blobs (RFC 4251 encodings).
u32() {
	printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' \
		$(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)))"
}
u64() {
	u32 $(($1 >> 32 & 0xffffffff))
	u32 $(($1 & 0xffffffff))
}
str() { # an ASCII string
	u32 ${#1}
	printf '%s' "$1"
}
strfile() { # a file's bytes as a string
	u32 "$(stat -c %s "$1")"
	cat "$1"
}
# The base64 field of a .pub or -cert.pub file, decoded.
blob() {
	awk '{ print $2; exit }' "$1" | base64 -d
}
kg() {
	"$keygen" -q "$@" </dev/null >/dev/null 2>&1
}

# Subject and CA keys of every type ssh-keygen can make without a token.
keys=()
for spec in ed25519: ecdsa:256 ecdsa:384 ecdsa:521 rsa:2048 rsa:3072; do
	t=${spec%%:*}
	b=${spec#*:}
	name="$t${b}"
	kg -t "$t" ${b:+-b "$b"} -N '' -C "seed-$name" -f "$tmp/$name"
	keys+=("$name")
done
if kg -t dsa -N '' -C seed-dsa -f "$tmp/dsa"; then
	keys+=(dsa)
fi

# FIDO keys need a token to generate, but only their public halves are
# needed here: build them from fresh ed25519 and P-256 public fields.
blob "$tmp/ed25519.pub" | tail -c 32 >"$tmp/ed.pk"
blob "$tmp/ecdsa256.pub" | tail -c 65 >"$tmp/p256.q"
{
	str sk-ssh-ed25519@openssh.com
	strfile "$tmp/ed.pk"
	str ssh:
} >"$tmp/sk-ed25519.blob"
{
	str sk-ecdsa-sha2-nistp256@openssh.com
	str nistp256
	strfile "$tmp/p256.q"
	str ssh:
} >"$tmp/sk-ecdsa.blob"
echo "sk-ssh-ed25519@openssh.com $(base64 -w0 "$tmp/sk-ed25519.blob") seed-sk" \
	>"$tmp/sk-ed25519.pub"
echo "sk-ecdsa-sha2-nistp256@openssh.com $(base64 -w0 "$tmp/sk-ecdsa.blob") seed-sk" \
	>"$tmp/sk-ecdsa.pub"
keys+=(sk-ed25519 sk-ecdsa)

# fuzz_sshkey: each key as a blob and as a .pub line.
d="$out/fuzz_sshkey"
for k in "${keys[@]}"; do
	blob "$tmp/$k.pub" >"$d/blob-$k"
	cp "$tmp/$k.pub" "$d/text-$k"
done
printf 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI' >"$d/text-truncated"
printf '  ssh-ed25519\t%s  \n' "$(awk '{print $2}' "$tmp/ed25519.pub")" >"$d/text-blanks"
printf 'ssh-rsa %s\n' "$(awk '{print $2}' "$tmp/ed25519.pub")" >"$d/text-type-mismatch"
{ str ssh-ed25519; u32 31; head -c 31 /dev/zero; } >"$d/blob-short-ed25519"
{ str ssh-rsa; u32 2; printf '\x00\x01'; u32 1; printf '\x80'; } >"$d/blob-rsa-bad-mpint"
{ str ssh-ed25519-cert-v01@openssh.com; str nonce; } >"$d/blob-cert-type"

# fuzz_cert: certificates from ssh-keygen -s, by several CA types, with
# and without options, user and host.
d="$out/fuzz_cert"
serial=1
for ca in ed25519 ecdsa256 rsa3072; do
	for k in "${keys[@]}"; do
		cp "$tmp/$k.pub" "$tmp/subj.pub"
		kg -s "$tmp/$ca" -I "nhi:seed:$serial" -n alice,ops -V -5m:+1h -z "$serial" \
			"$tmp/subj.pub"
		blob "$tmp/subj-cert.pub" >"$d/cert-$ca-$k"
		serial=$((serial + 1))
	done
done
cp "$tmp/ed25519.pub" "$tmp/subj.pub"
kg -s "$tmp/ed25519" -I opts -n root -V 20200101:20400101 -z 4294967296 \
	-O clear -O force-command=/bin/true -O source-address=10.0.0.0/8,192.168.1.1 \
	-O verify-required -O extension:seed@nhi.invalid=value -O permit-pty "$tmp/subj.pub"
blob "$tmp/subj-cert.pub" >"$d/cert-options"
kg -s "$tmp/ed25519" -I host -h -n host.example,10.0.0.1 -z 7 "$tmp/subj.pub"
blob "$tmp/subj-cert.pub" >"$d/cert-host"
kg -s "$tmp/ed25519" -I "" -z 0 -O clear "$tmp/subj.pub"
blob "$tmp/subj-cert.pub" >"$d/cert-bare"
# fuzz_authinfo: SSH_AUTH_INFO_0 as sshd writes it, with a certificate and
# with a plain key after another method.
a="$out/fuzz_authinfo"
cp "$tmp/ed25519.pub" "$tmp/subj.pub"
kg -s "$tmp/ed25519" -I "nhi:seed:9" -n bot -z 9 "$tmp/subj.pub"
awk '{ printf "publickey %s %s\n", $1, $2 }' "$tmp/subj-cert.pub" >"$a/cert"
{ echo "keyboard-interactive"; awk '{ printf "publickey %s %s\n", $1, $2 }' "$tmp/ed25519.pub"; } \
	>"$a/key"
# A valid certificate with its last signature byte flipped.
head -c -1 "$d/cert-options" >"$d/cert-badsig"
printf '\x55' >>"$d/cert-badsig"

# fuzz_krl: KRLs from ssh-keygen -k covering every section type and each
# serial encoding (list, range, bitmap).
d="$out/fuzz_krl"
cat >"$tmp/spec-serials" <<EOF
serial: 1
serial: 3
serial: 10-20
serial: 100-4000
serial: 5000
serial: 5002
serial: 5004
serial: 5006
serial: 18446744073709551614
id: nhi:alice:7
id: nhi:bob:9
EOF
kg -k -f "$tmp/krl" -s "$tmp/ed25519.pub" -z 42 "$tmp/spec-serials"
cp "$tmp/krl" "$d/krl-serials"
bits=()
for i in $(seq 200 3 400); do bits+=("serial: $i"); done
printf '%s\n' "${bits[@]}" >"$tmp/spec-bitmap"
kg -k -f "$tmp/krl" -s "$tmp/ecdsa256.pub" "$tmp/spec-bitmap"
cp "$tmp/krl" "$d/krl-bitmap"
{
	echo "key: $(cat "$tmp/ecdsa384.pub")"
	echo "sha1: $(cat "$tmp/rsa2048.pub")"
	echo "sha256: $(cat "$tmp/ed25519.pub")"
	echo "hash: $("$keygen" -lf "$tmp/ecdsa521.pub" | awk '{print $2}')"
} >"$tmp/spec-keys"
kg -k -f "$tmp/krl" -z 3 "$tmp/spec-keys"
cp "$tmp/krl" "$d/krl-keys"
kg -k -f "$tmp/krl" "$tmp/ed25519.pub" "$tmp/rsa3072.pub" "$tmp/sk-ed25519.pub"
cp "$tmp/krl" "$d/krl-explicit"
cp "$tmp/subj-cert.pub" "$tmp/revoke-cert.pub"
kg -k -f "$tmp/krl" "$tmp/revoke-cert.pub"
cp "$tmp/krl" "$d/krl-cert"
# More revocations added to an existing KRL (-u), by another CA.
cp "$d/krl-bitmap" "$tmp/krl"
kg -k -u -f "$tmp/krl" -s "$tmp/rsa3072.pub" "$tmp/spec-serials"
cp "$tmp/krl" "$d/krl-updated"
# ssh-keygen only revokes serials for a named CA; an empty CA key (any
# CA) is written by hand: a serial list and a key id.
krl_header() {
	u64 0x5353484b524c0a00
	u32 1
	u64 "$1"
	u64 1700000000
	u64 0
	str ""
	str "hand-made"
}
u64 77 >"$tmp/serial77"
str anyone >"$tmp/id-anyone"
{
	printf '\x20'
	strfile "$tmp/serial77"
	printf '\x23'
	strfile "$tmp/id-anyone"
} >"$tmp/subsections"
{
	str ""
	str ""
	cat "$tmp/subsections"
} >"$tmp/certsection"
{
	krl_header 2
	printf '\x01'
	strfile "$tmp/certsection"
} >"$d/krl-any-ca"
krl_header 1 >"$d/krl-empty"

# fuzz_authkeys: lines with every option sshd knows, blank and comment
# lines, and a few broken ones.
d="$out/fuzz_authkeys"
n=0
line() {
	n=$((n + 1))
	printf '%s' "$1" >"$d/line-$n"
}
ed=$(cut -d' ' -f1,2 "$tmp/ed25519.pub")
ec=$(cut -d' ' -f1,2 "$tmp/ecdsa256.pub")
rsa=$(cut -d' ' -f1,2 "$tmp/rsa3072.pub")
sk=$(cut -d' ' -f1,2 "$tmp/sk-ed25519.pub")
line "$ed user@host"
line "$ec"
line "$rsa comment with  spaces"
line "$sk"
line "restrict,command=\"echo \\\"hi\\\" there\" $ed"
line "from=\"10.0.0.0/8,!10.1.*,host.example\",no-pty,no-agent-forwarding $ec c"
line "cert-authority,principals=\"alice,ops\" $ed ca"
line "expiry-time=\"20300101\",no-port-forwarding,no-X11-forwarding,no-user-rc $ed"
line "expiry-time=\"203001011230Z\" $ed"
line "environment=\"FOO=bar\",environment=\"A=b c\",permitopen=\"host:22\",permitopen=\"*:80\" $ed"
line "permitlisten=\"localhost:8080\",tunnel=\"1\",no-touch-required,verify-required $sk"
line "restrict,pty,port-forwarding,agent-forwarding,x11-forwarding,user-rc $ed"
line "Restrict,NO-PTY $ed"
line "$ed trailing-cr"$'\r'
line "# a comment"
line ""
line "   "
line "command=\"unterminated $ed"
line "no-such-option $ed"
line "ssh-ed25519 not-base64!"
line "from=\"a\",,no-pty $ed"

# fuzz_buf: the harness reads opcodes, so any bytes will do; a few fixed
# sequences reach the string and mpint paths at once.
d="$out/fuzz_buf"
printf '\x04\x00\x08abcdefgh\x10\x00' >"$d/put-get-string"
printf '\x06\x00\x03\x80\x01\x02\x14\x00' >"$d/put-get-bignum"
printf '\x15\x00\x10\x02\x01\x02\x03\x04\x05\x06\x07\x08\x02\x01\x02\x03\x04\x05\x06\x07\x08' \
	>"$d/cap"
printf '\x17\x00\x0c\x00\x00\x00\x03abc\x00\x00\x00\x01' >"$d/view"
for i in 1 2 3 4; do
	head -c $((i * 64)) /dev/urandom >"$d/random-$i"
done

# NSS cache: an odd first byte builds a cache from 4-byte entries (users
# and groups with members), an even one reads the rest as an image.
d=$out/fuzz_nsscache
printf '\x01\x01\x00\x05\x10\x03\x00\x06\x11\x02\x00\x07\x20\x06\x01\x00\x30' >"$d/build"
printf '\x01\x01\x00\x01\x01\x01\x00\x02\x02\x0e\x10\x00\x03' >"$d/build-member"
{ printf '\x00NHINSSC\n\x01\x00\x00\x00\x80\x00\x00\x00'; head -c 112 /dev/zero; } >"$d/header"

# fuzz_chain: a chained command's whole output, good and bad lines mixed.
d="$out/fuzz_chain"
rm -rf "$d"
mkdir -p "$d"
printf '%s one\n# c\n\nbogus %s\ncert-authority %s\n%s two\r\n' "$ed" "$ed" "$ed" "$ec" >"$d/mixed"
printf '%s\n%s' "$rsa" "$sk" >"$d/two"
printf 'no-pty,command="a\\"b" %s x\n\001\002\n%s' "$ed" "$ed" >"$d/control"

# fuzz_issue_authinfo: the SSH_USER_AUTH file nhi-issue reads, one plain key
# of each type, and what it refuses (a certificate, two methods).
d=$out/fuzz_issue_authinfo
rm -rf "$d" && mkdir -p "$d"
for k in "${keys[@]}"; do
	awk '{ printf "publickey %s %s\n", $1, $2 }' "$tmp/$k.pub" >"$d/key-$k"
done
cp "$a/cert" "$d/cert"
cp "$a/key" "$d/two-methods"
awk '{ printf "publickey %s %s", $1, $2 }' "$tmp/ed25519.pub" >"$d/no-newline"
printf 'password\n' >"$d/password"

# fuzz_bg_codes: a code file as nhictl breakglass init writes it, with a
# used code and comments, and typed codes in their accepted spellings.
d=$out/fuzz_bg_codes
rm -rf "$d" && mkdir -p "$d"
h='$argon2id$v=19$m=16384,t=2,p=1$c2VlZHNhbHRzZWVkc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGg'
{
	echo "# nhi break-glass codes: account argon2id-hash state."
	echo "oncall $h unused"
	echo "oncall $h used:1700000000"
	echo ""
	echo "root $h unused"
} >"$d/file"
printf 'oncall %s unused' "$h" >"$d/no-newline"
printf 'oncall %s used:99999999999999999999\n' "$h" >"$d/used-overflow"
printf '7K3M-Q9ZP-2D4W-XH6T-JR8B' >"$d/typed"
printf '7k3m q9zp 2d4w xh6t jr8b' >"$d/typed-lower"
printf 'OIL0-Q9ZP-2D4W-XH6T-JR8B' >"$d/typed-confusables"

# fuzz_bg_spool: records as pam_nhi (use) and nhictl (init) spool them.
d=$out/fuzz_bg_spool
rm -rf "$d" && mkdir -p "$d"
printf 'event=use\naccount=oncall\nservice=sshd\nrhost=192.0.2.1\ntty=ssh\nreason=db down\ncode_index=2\ntime=1700000000\n' \
	>"$d/use"
printf 'event=init\naccount=oncall\ncodes=10\ntime=1700000000\nby=root\n' >"$d/init"
printf 'event=use\naccount=oncall\nreason=x\ntime=1700000000' >"$d/torn"
printf 'event=use\naccount=oncall\naccount=root\nreason=x\ntime=1\n' >"$d/repeated"

# fuzz_msg: the first byte cuts the stream in two deliveries; then frames
# (u32 length, version 1, type, u32 field count, cstring key, string value).
d=$out/fuzz_msg
rm -rf "$d" && mkdir -p "$d"
frame() { # BODY-FILE: the body as one frame
	u32 "$(stat -c %s "$1")"
	cat "$1"
}
blob "$tmp/ed25519.pub" >"$tmp/pk"
{ printf '\x01\x03'; u32 2; str identity; str backup-bot; str public_key; strfile "$tmp/pk"; } \
	>"$tmp/body-cert"
{ printf '\x01\x01'; u32 0; } >"$tmp/body-status"
{ printf '\x01\x32'; u32 5; str account; str alice; str uid; str 1000; str serial; str 7
	str key_id; str 'nhi:alice:7'; str key_fingerprint; str 'SHA256:x'; } >"$tmp/body-principals"
{ printf '\x07'; frame "$tmp/body-cert"; } >"$d/cert-request"
{ printf '\x03'; frame "$tmp/body-status"; frame "$tmp/body-principals"; } >"$d/two-requests"
{ printf '\x00'; frame "$tmp/body-status"; head -c 3 "$tmp/body-cert"; } >"$d/half-frame"
{ printf '\x00'; u32 4; printf '\x01\x01'; u32 1; } >"$d/short-fields"
{ printf '\x00'; u32 0; } >"$d/zero-length"
{ printf '\x00'; printf '\xff\xff\xff\xff'; } >"$d/huge-length"
