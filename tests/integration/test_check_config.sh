#!/usr/bin/env bash
# hsdo-agent --check-config as an operator reads it: which file was read,
# or that none was and only defaults and the environment count; warnings
# for misspelt variables and for the file store chosen by default;
# --debug's value-by-value origins with secrets masked; and the AWS region,
# where it came from, and the credential chain, without a secret.
set -u
AGENT=${HSDO_AGENT:?HSDO_AGENT must point to hsdo-agent}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hsdo-check-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
# Nothing from the caller: no settings, no AWS variables.
unset $(env | sed -nE 's/^((SERVER|CLIENT|STORE|EXPORTER|DYNAMODB|AWS)_[A-Z0-9_]*|INTERVAL|DEBUG|STORE|LOG_TARGET|SPOA_LISTEN)=.*/\1/p') 2>/dev/null
export HOME=$tmp/home AWS_EC2_METADATA_DISABLED=true

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
ko() { fail=$((fail + 1)); echo "FAIL - $1"; [[ -n "${2:-}" ]] && sed 's/^/    /' "$2"; }
# has DESC PATTERN: out.txt matches the extended regex PATTERN.
has() { if grep -qE -- "$2" out.txt; then ok "$1"; else echo "    pattern /$2/"; ko "$1" out.txt; fi; }
hasnt() { if ! grep -qE -- "$2" out.txt; then ok "$1"; else echo "    pattern /$2/"; ko "$1" out.txt; fi; }

"$AGENT" --check-config >out.txt 2>&1
has "no file: said, with where it looked" \
	"^no configuration file \(looked for conf/env.yaml, .*/env.yaml\): defaults and environment only$"
has "no file: still OK" "^configuration OK$"
has "the file store chosen by default is said, naming both keys" \
	"warning: environment: STORE: not set and DYNAMODB_TABLE_NAME is empty: using the file store"

DYNAMODB_TABLENAME=slots "$AGENT" --check-config >out.txt 2>&1
has "a misspelt table variable is warned about" \
	"warning: environment: DYNAMODB_TABLENAME: unknown variable \(did you mean DYNAMODB_TABLE_NAME\?\)"
AWS_REGOIN=eu-west-3 "$AGENT" --check-config >out.txt 2>&1
has "a misspelt AWS variable is warned about" "AWS_REGOIN: unknown variable \(did you mean AWS_REGION\?\)"

mkdir -p conf
cat >conf/env.yaml <<'YAML'
# hsdo
INTERVAL: 2
STORE: file
SERVER_CONSUL_API_URL: https://ops:consul-s3cret@consul.example:8501
YAML
EXPORTER_PORT=9123 "$AGENT" --check-config --debug >out.txt 2>&1
has "the file read is named" "^configuration file conf/env.yaml$"
has "a file value with its line" "^INTERVAL = 2  # conf/env.yaml:2$"
has "an environment value" "^EXPORTER_PORT = 9123  # environment$"
has "a default" "^DEBUG = false  # default$"
has "a URL's password is masked" "^SERVER_CONSUL_API_URL = https://ops:\*\*\*@consul.example:8501  # conf/env.yaml:4$"
hasnt "...and never printed" "consul-s3cret"
has "AWS not used by this configuration" "^AWS: not used \(STORE=file, SERVER_MODE=static\)$"
hasnt "no warning with STORE set" "STORE: not set"

# A role assumed from a source profile, region from the profile.
mkdir -p "$HOME/.aws"
cat >"$HOME/.aws/credentials" <<'INI'
[base]
aws_access_key_id = AKIDBASEEXAMPLE
aws_secret_access_key = base-secret-never-printed
INI
cat >"$HOME/.aws/config" <<'INI'
[profile app]
role_arn = arn:aws:iam::123456789012:role/hsdo-server
source_profile = base
region = eu-west-3
INI
cat >conf/env.yaml <<'YAML'
DYNAMODB_TABLE_NAME: hsdo-slots
AWS_DEFAULT_REGION: eu-west-1
YAML
AWS_PROFILE=app "$AGENT" --check-config --debug >out.txt 2>&1
has "the profile's region wins over the configuration's" \
	"^AWS region = eu-west-3  # profile app, $HOME/.aws/config:4$"
has "the chain: keys of the source profile, then AssumeRole" \
	"^AWS credentials = profile app: keys \($HOME/.aws/credentials:2\), then AssumeRole arn:aws:iam::123456789012:role/hsdo-server \(profile app\)$"
has "the endpoints" "^AWS endpoint dynamodb = https://dynamodb.eu-west-3.amazonaws.com$"
has "STORE is dynamodb because of the table" "^STORE = dynamodb  # default \(from DYNAMODB_TABLE_NAME\)$"
hasnt "no secret in the output" "base-secret|AKIDBASEEXAMPLE"

AWS_REGION=ap-south-1 AWS_PROFILE=app "$AGENT" --check-config --debug >out.txt 2>&1
has "AWS_REGION wins over the profile" "^AWS region = ap-south-1  # AWS_REGION$"
rm "$HOME/.aws/config"
AWS_ACCESS_KEY_ID=AKIDENVEXAMPLE AWS_SECRET_ACCESS_KEY=env-secret-never-printed \
	"$AGENT" --check-config --debug >out.txt 2>&1
has "no region anywhere else: the configuration's, with its line" \
	"^AWS region = eu-west-1  # configuration \(conf/env.yaml:2\)$"
has "environment keys" "^AWS credentials = environment \(AWS_ACCESS_KEY_ID\)$"
hasnt "no secret in the output" "env-secret-never-printed"
cat >"$HOME/.aws/config" <<'INI'
[profile broken]
role_arn = arn:aws:iam::123456789012:role/x
INI
AWS_PROFILE=broken "$AGENT" --check-config --debug >out.txt 2>&1
has "a profile that cannot work is named with its line" \
	"^AWS: cannot be used: $HOME/.aws/config:2: profile broken: role_arn needs source_profile"

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
