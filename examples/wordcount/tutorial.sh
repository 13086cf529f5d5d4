#!/usr/bin/env bash
# The seed tutorial (Confidential Space, multi-party word count) as Sealroom commands, step by step.
# Run `npm start -- --no-scenario` (or `npx sealroom serve --dev`) in another terminal first, then run this
# script (SEALROOM_API names the server; the default is http://127.0.0.1:8080) or paste its lines one by one.
# `gcloud` is `sealroom`; the Go clients are `sealroom-wordcount`. It asks the server where its gRPC endpoint
# and CA are, runs again on the same server (each run has its own projects), and waits by polling.
# `npm start` runs the same steps for you (examples/wordcount/scenario.ts) and prints them.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
export PATH="$HERE/../../node_modules/.bin:$PATH"
export SEALROOM_API=${SEALROOM_API:-http://127.0.0.1:8080}
SUFFIX=${SUFFIX:-$RANDOM$RANDOM}
WORK=$(mktemp -d)   # this run's TLS material
trap 'rm -rf "$WORK"' EXIT

# poll SECONDS WHAT COMMAND…: runs COMMAND every second until it succeeds; gives up after SECONDS.
poll() {
  local deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS > deadline)); then echo "timed out waiting for $what" >&2; return 1; fi
    sleep 1
  done
}

## Configure the builder, the operator and the two collaborators: one configuration each (kept across runs)
for ROLE in builder operator collaborator-1 collaborator-2; do
  sealroom config configurations list --format='value(name)' | grep -qx $ROLE || sealroom config configurations create $ROLE
done

sealroom config configurations activate builder
sealroom auth login builder@builder.example
sealroom projects create builder-$SUFFIX && sealroom config set project builder-$SUFFIX
export BUILDER_PROJECT_ID=`sealroom config get-value core/project`

sealroom config configurations activate operator
sealroom auth login admin@operator.example
sealroom projects create operator-$SUFFIX && sealroom config set project operator-$SUFFIX
export OPERATOR_PROJECT_ID=`sealroom config get-value core/project`
export OPERATOR_PROJECT_NUMBER=`sealroom projects describe $OPERATOR_PROJECT_ID --format='value(projectNumber)'`

sealroom config configurations activate collaborator-1
sealroom auth login alice@collaborator1.example
sealroom projects create collaborator-1-$SUFFIX && sealroom config set project collaborator-1-$SUFFIX
export COLLABORATOR_1_PROJECT_ID=`sealroom config get-value core/project`
export COLLABORATOR_1_PROJECT_NUMBER=`sealroom projects describe $COLLABORATOR_1_PROJECT_ID --format='value(projectNumber)'`
export COLLABORATOR_1_GCLOUD_USER=`sealroom config get-value core/account`

sealroom config configurations activate collaborator-2
sealroom auth login bob@collaborator2.example
sealroom projects create collaborator-2-$SUFFIX && sealroom config set project collaborator-2-$SUFFIX
export COLLABORATOR_2_PROJECT_ID=`sealroom config get-value core/project`
export COLLABORATOR_2_PROJECT_NUMBER=`sealroom projects describe $COLLABORATOR_2_PROJECT_ID --format='value(projectNumber)'`
export COLLABORATOR_2_GCLOUD_USER=`sealroom config get-value core/account`

## Builder: build the workload image reproducibly and push it; collaborators authorise its digest
sealroom config configurations activate builder
HOST=${SEALROOM_API#http://}
sealroom artifacts repositories create repo1 --repository-format=docker --location=us-central1
DIGEST=`sealroom build "$HERE" --tag=$HOST/$BUILDER_PROJECT_ID/repo1/tee:server --format='value(digest)'`
export IMAGE_REFERENCE=$HOST/$BUILDER_PROJECT_ID/repo1/tee@$DIGEST
export ISSUER_URI=$SEALROOM_API   # hardened instances' tokens come from the server's verifier

## Operator: service account, topic, subscription (dead-lettering after 5 attempts), publish rights
sealroom config configurations activate operator
sealroom iam service-accounts create operator-svc-account
export SA=operator-svc-account@$OPERATOR_PROJECT_ID.iam.gserviceaccount.com OPERATOR_PROJECT_ID
sealroom projects add-iam-policy-binding $OPERATOR_PROJECT_ID --member=serviceAccount:$SA \
  --role=roles/confidentialcomputing.workloadUser
sealroom pubsub topics create cs-topic
sealroom pubsub topics create cs-topic-dead-letter
sealroom pubsub subscriptions create cs-subscribe --topic=cs-topic --ack-deadline=10 \
  --dead-letter-topic=cs-topic-dead-letter --max-delivery-attempts=5
sealroom pubsub subscriptions create cs-dead-letters --topic=cs-topic-dead-letter
sealroom pubsub subscriptions add-iam-policy-binding cs-subscribe --member=serviceAccount:$SA --role=roles/pubsub.subscriber
sealroom pubsub topics add-iam-policy-binding cs-topic --member=user:$COLLABORATOR_1_GCLOUD_USER --role=roles/pubsub.publisher
sealroom pubsub topics add-iam-policy-binding cs-topic --member=user:$COLLABORATOR_2_GCLOUD_USER --role=roles/pubsub.publisher
sealroom config configurations activate builder   # the seed: the builder lets the operator's account pull
sealroom artifacts repositories add-iam-policy-binding repo1 --location=us-central1 \
  --member=serviceAccount:$SA --role=roles/artifactregistry.reader
sealroom config configurations activate operator

OPERATOR_CONDITION="assertion.swname=='CONFIDENTIAL_SPACE' && \"STABLE\" in assertion.submods.confidential_space.support_attributes && assertion.submods.gce.project_id=='$OPERATOR_PROJECT_ID' && '$SA' in assertion.google_service_accounts"
create_pool() {
  sealroom iam workload-identity-pools create trusted-workload-pool --location=global
  sealroom iam workload-identity-pools providers create-oidc attestation-verifier \
    --location=global --workload-identity-pool=trusted-workload-pool \
    --issuer-uri="$ISSUER_URI/" --allowed-audiences=https://sts.googleapis.com \
    --attribute-mapping="google.subject=assertion.sub,attribute.image_reference=assertion.submods.container.image_reference" \
    --attribute-condition="${CONDITION:-$OPERATOR_CONDITION}"
}
# The instance reaches Pub/Sub as operator-svc-account, through the operator's own pool.
create_pool
sealroom iam service-accounts add-iam-policy-binding $SA --role=roles/iam.workloadIdentityUser \
  --member="principalSet://iam.googleapis.com/projects/$OPERATOR_PROJECT_NUMBER/locations/global/workloadIdentityPools/trusted-workload-pool/*"

## Each collaborator: pool and provider (the seed's condition, pinned to the image digest), key, result secret, bindings to the image only
for N in 1 2; do
  sealroom config configurations activate collaborator-$N
  PROJECT=`sealroom config get-value core/project`
  NUMBER=`sealroom projects describe $PROJECT --format='value(projectNumber)'`
  USER_EMAIL=`sealroom config get-value core/account`
  IMAGE="principalSet://iam.googleapis.com/projects/$NUMBER/locations/global/workloadIdentityPools/trusted-workload-pool/attribute.image_reference/$IMAGE_REFERENCE"
  # Each collaborator rebuilt the image from source and got $DIGEST: its token service admits only that image,
  # and only with the output policy it agreed to (the image's sealroom.output_policy label, in the token).
  CONDITION="$OPERATOR_CONDITION && assertion.submods.container.image_digest=='$DIGEST' && assertion.submods.sealroom.output_policy.min_collaborators >= 1" create_pool
  sealroom kms keyrings create kr1 --location=global
  sealroom kms keys create key1 --keyring=kr1 --location=global --purpose=encryption
  sealroom kms keys add-iam-policy-binding key1 --keyring=kr1 --location=global \
    --member="user:$USER_EMAIL" --role=roles/cloudkms.cryptoKeyEncrypterDecrypter
  # decrypt contributions, and encrypt this collaborator's result under its own key
  sealroom kms keys add-iam-policy-binding key1 --keyring=kr1 --location=global \
    --member="$IMAGE" --role=roles/cloudkms.cryptoKeyEncrypterDecrypter
  # the workload logs each release in this collaborator's transparency log before delivering the result
  sealroom projects add-iam-policy-binding $PROJECT --member="$IMAGE" --role=roles/transparency.releaseWriter
  sealroom secrets create wordcount-results --replication-policy=automatic
  sealroom secrets add-iam-policy-binding wordcount-results --member="$IMAGE" --role=roles/secretmanager.secretVersionAdder
  sealroom secrets add-iam-policy-binding wordcount-results --member="user:$USER_EMAIL" --role=roles/secretmanager.secretAccessor
  # mTLS: the collaborator's own CA, the workload's server certificate and its client certificate (the seed's
  # certs/ folder). The server key is released to the attested image at start, never baked into it.
  EC="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
  openssl req -x509 $EC -keyout $WORK/ca-$N.key -out $WORK/ca-$N.crt -subj "/CN=collaborator$N root" -days 30 2>/dev/null
  printf 'subjectAltName=DNS:tee.collaborator%s.com\nextendedKeyUsage=serverAuth\n' $N > $WORK/server-$N.ext
  printf 'extendedKeyUsage=clientAuth\n' > $WORK/client-$N.ext
  for WHO in server client; do
    openssl req $EC -keyout $WORK/$WHO-$N.key -out $WORK/$WHO-$N.csr -subj "/CN=$WHO of collaborator$N" 2>/dev/null
    openssl x509 -req -in $WORK/$WHO-$N.csr -CA $WORK/ca-$N.crt -CAkey $WORK/ca-$N.key -CAcreateserial \
      -out $WORK/$WHO-$N.crt -days 30 -extfile $WORK/$WHO-$N.ext 2>/dev/null
  done
  for PAIR in tee-server-key:server-$N.key tee-server-cert:server-$N.crt tee-client-ca:ca-$N.crt; do
    sealroom secrets create ${PAIR%%:*} --replication-policy=automatic --data-file=$WORK/${PAIR#*:}
    sealroom secrets add-iam-policy-binding ${PAIR%%:*} --member="$IMAGE" --role=roles/secretmanager.secretAccessor
  done
done
# Collaborator-1 also keeps the workload's sealed state: a key and a secret only the image may use.
sealroom config configurations activate collaborator-1
IMAGE="principalSet://iam.googleapis.com/projects/$COLLABORATOR_1_PROJECT_NUMBER/locations/global/workloadIdentityPools/trusted-workload-pool/attribute.image_reference/$IMAGE_REFERENCE"
sealroom kms keys create state --keyring=kr1 --location=global --purpose=encryption
sealroom kms keys add-iam-policy-binding state --keyring=kr1 --location=global --role=roles/cloudkms.cryptoKeyEncrypterDecrypter --member="$IMAGE"
sealroom secrets create wordcount-state --replication-policy=automatic
sealroom secrets add-iam-policy-binding wordcount-state --member="$IMAGE" --role=roles/secretmanager.secretVersionAdder
sealroom secrets add-iam-policy-binding wordcount-state --member="$IMAGE" --role=roles/secretmanager.secretAccessor

## Operator: start the instance; the collaborator set travels in the measured launch configuration
sealroom config configurations activate operator
# Only the collaborator set (PROJECT/NUMBER/POOL/PROVIDER/KEYRING/KEY/SERVER_NAME each, and the mTLS port): the workload reads the endpoints and
# the CA from the platform, and reaches Pub/Sub as the instance's service account ($SA, subscriber on cs-subscribe).
COLLABORATORS="$COLLABORATOR_1_PROJECT_ID/$COLLABORATOR_1_PROJECT_NUMBER/trusted-workload-pool/attestation-verifier/kr1/key1/tee.collaborator1.com,$COLLABORATOR_2_PROJECT_ID/$COLLABORATOR_2_PROJECT_NUMBER/trusted-workload-pool/attestation-verifier/kr1/key1/tee.collaborator2.com;ingress=9443"
AUD() { echo "//iam.googleapis.com/projects/$1/locations/global/workloadIdentityPools/trusted-workload-pool/providers/attestation-verifier"; }
sealroom compute instances create vm1 --confidential-compute --shielded-secure-boot --zone=us-central1-a \
  --image-family=confidential-space --service-account=$SA \
  --metadata "^~^tee-image-reference=$IMAGE_REFERENCE~tee-restart-policy=Never~tee-container-log-redirect=true~tee-env-WORDCOUNT_COLLABORATORS=$COLLABORATORS"

# The instance boots (pull, measure, attest, start); the workload says when it is ready. Watch it with
# sealroom compute instances get-serial-port-output vm1 --zone=us-central1-a
serial() { sealroom compute instances get-serial-port-output vm1 --zone=us-central1-a --configuration=operator; }
serial_says() { local out; out=$(serial) && [[ $out == *"$1"* ]]; }
# On a timeout the console's last lines say why (a refused pull, attestation or key release).
poll 300 "the workload's subscription" serial_says 'subscription ready' || { serial | tail -40 >&2; exit 1; }

## Both collaborators publish "alice" (the seed's Go client flags, only the program name changed)
sealroom config configurations activate collaborator-1
sealroom-wordcount publish --topicProject=$OPERATOR_PROJECT_ID --user=alice \
  --kmsKey="projects/$COLLABORATOR_1_PROJECT_ID/locations/global/keyRings/kr1/cryptoKeys/key1" \
  --audience="$(AUD $COLLABORATOR_1_PROJECT_NUMBER)"
sealroom config configurations activate collaborator-2
sealroom-wordcount publish --topicProject=$OPERATOR_PROJECT_ID --user=alice \
  --kmsKey="projects/$COLLABORATOR_2_PROJECT_ID/locations/global/keyRings/kr1/cryptoKeys/key1" \
  --audience="$(AUD $COLLABORATOR_2_PROJECT_NUMBER)"

## Both collaborators send "bob" over mTLS, after checking that the attested workload holds the TLS session
poll 120 "the workload's mTLS ingress" serial_says 'mTLS ingress listening' || { serial | tail -40 >&2; exit 1; }
# The host publishes the image's EXPOSEd 9443 (the same port when free): describe says where.
INGRESS_PORT=$(sealroom compute instances describe vm1 --zone=us-central1-a --configuration=operator --format=json |
  node -e 'const vm = JSON.parse(require("fs").readFileSync(0, "utf8"));
const p = (vm.confidentialSpace?.network?.publishedPorts ?? []).find((x) => x.protocol === "tcp" && x.port === 9443);
console.log(p ? p.hostPort : 9443)')
for N in 1 2; do
  sealroom config configurations activate collaborator-$N
  PROJECT=`sealroom config get-value core/project`
  NUMBER=`sealroom projects describe $PROJECT --format='value(projectNumber)'`
  sealroom-wordcount send --host=127.0.0.1:$INGRESS_PORT --server_name=tee.collaborator$N.com \
    --audience="$(AUD $NUMBER)" --kmsKey="projects/$PROJECT/locations/global/keyRings/kr1/cryptoKeys/key1" --user=bob \
    --ca_files=$WORK/ca-$N.crt --tls_crt=$WORK/client-$N.crt --tls_key=$WORK/client-$N.key --image_digest=$DIGEST
done

## Audit: the federated identity that exchanged its token and used each collaborator's key
for N in 1 2; do
  sealroom config configurations activate collaborator-$N
  sealroom logging read --format=json | grep -o '"principalSubject": *"principal://[^"]*"' | sort -u
done

## Each collaborator reads and decrypts its own result (alice = 2, bob = 2), once the workload published it
counted() { local out; out=$(sealroom-wordcount results --project=$1) && [[ $out == *'"bob": 2'* ]]; }
for N in 1 2; do
  sealroom config configurations activate collaborator-$N
  PROJECT=`sealroom config get-value core/project`
  poll 120 "the result of $PROJECT" counted $PROJECT
  sealroom-wordcount results --project=$PROJECT
done

## Operator: stop the instance (the workload seals its state and publishes final results on SIGTERM)
sealroom config configurations activate operator
sealroom compute instances stop vm1 --zone=us-central1-a
