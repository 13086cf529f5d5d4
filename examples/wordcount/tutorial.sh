#!/usr/bin/env bash
# The seed tutorial (Confidential Space, multi-party word count) as Sealroom commands, step by step.
# Run `npm start` (or `npx sealroom serve --dev`) in another terminal first, then run this script or paste its
# lines one by one. `gcloud` is `sealroom`; the Go clients are `sealroom-wordcount`. `npm start` runs the same
# steps for you (examples/wordcount/scenario.ts) and prints them.
set -euo pipefail
export PATH="$(cd "$(dirname "$0")/../.." && pwd)/node_modules/.bin:$PATH"
export SEALROOM_API=${SEALROOM_API:-http://127.0.0.1:8080}
SUFFIX=${SUFFIX:-$RANDOM}

## Configure the builder, the operator and the two collaborators: one configuration each
for ROLE in builder operator collaborator-1 collaborator-2; do sealroom config configurations create $ROLE; done

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
DIGEST=`sealroom build "$(dirname "$0")" --tag=$HOST/$BUILDER_PROJECT_ID/repo1/tee:server --format='value(digest)'`
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
AUD() { echo "//iam.googleapis.com/projects/$1/locations/global/workloadIdentityPools/trusted-workload-pool/providers/attestation-verifier"; }
# The gRPC endpoint and CA of the server (written by `sealroom serve` into its state directory).
ENDPOINTS=${SEALROOM_STATE_DIR:-$(dirname "$0")/../../.sealroom}/endpoints.json
export OPERATOR_PROJECT_NUMBER COLLABORATOR_1_PROJECT_ID COLLABORATOR_1_PROJECT_NUMBER COLLABORATOR_2_PROJECT_ID COLLABORATOR_2_PROJECT_NUMBER ENDPOINTS
WORDCOUNT_CONFIG=$(node -e '
const e = process.env, fs = require("fs"), ep = JSON.parse(fs.readFileSync(e.ENDPOINTS, "utf8"));
const aud = (n) => `//iam.googleapis.com/projects/${n}/locations/global/workloadIdentityPools/trusted-workload-pool/providers/attestation-verifier`;
const collab = (p, n) => ({ name: p, audience: aud(n), kmsKey: `projects/${p}/locations/global/keyRings/kr1/cryptoKeys/key1`,
  api: e.SEALROOM_API, resultSecret: `projects/${p}/secrets/wordcount-results` });
console.log(JSON.stringify({
  subscription: `projects/${e.OPERATOR_PROJECT_ID}/subscriptions/cs-subscribe`,
  pubsub: { grpc: ep.grpc, caPem: fs.readFileSync(ep.ca, "utf8"), audience: aud(e.OPERATOR_PROJECT_NUMBER), api: e.SEALROOM_API, serviceAccount: e.SA },
  collaborators: [collab(e.COLLABORATOR_1_PROJECT_ID, e.COLLABORATOR_1_PROJECT_NUMBER), collab(e.COLLABORATOR_2_PROJECT_ID, e.COLLABORATOR_2_PROJECT_NUMBER)],
  state: { secret: `projects/${e.COLLABORATOR_1_PROJECT_ID}/secrets/wordcount-state`, collaborator: e.COLLABORATOR_1_PROJECT_ID,
    kmsKey: `projects/${e.COLLABORATOR_1_PROJECT_ID}/locations/global/keyRings/kr1/cryptoKeys/state` },
  resultsIntervalMs: 500 }));')
sealroom compute instances create vm1 --confidential-compute --shielded-secure-boot --zone=us-central1-a \
  --image-family=confidential-space --service-account=$SA \
  --metadata "^~^tee-image-reference=$IMAGE_REFERENCE~tee-restart-policy=Never~tee-container-log-redirect=true~tee-env-WORDCOUNT_CONFIG=$WORDCOUNT_CONFIG"

sleep 20   # the instance boots: pull, measure, attest, start; watch it with
# sealroom compute instances get-serial-port-output vm1 --zone=us-central1-a

## Both collaborators publish "alice" (the seed's Go client flags, only the program name changed)
sealroom config configurations activate collaborator-1
sealroom-wordcount publish --topicProject=$OPERATOR_PROJECT_ID --user=alice \
  --kmsKey="projects/$COLLABORATOR_1_PROJECT_ID/locations/global/keyRings/kr1/cryptoKeys/key1" \
  --audience="$(AUD $COLLABORATOR_1_PROJECT_NUMBER)"
sealroom config configurations activate collaborator-2
sealroom-wordcount publish --topicProject=$OPERATOR_PROJECT_ID --user=alice \
  --kmsKey="projects/$COLLABORATOR_2_PROJECT_ID/locations/global/keyRings/kr1/cryptoKeys/key1" \
  --audience="$(AUD $COLLABORATOR_2_PROJECT_NUMBER)"

## Audit: the federated identity that exchanged its token and used each collaborator's key
for N in 1 2; do
  sealroom config configurations activate collaborator-$N
  sealroom logging read --format=json | grep -o '"principalSubject": *"principal://[^"]*"' | sort -u
done

sleep 3    # the workload publishes results half a second after counting

## Each collaborator reads and decrypts its own result (alice = 2)
sealroom config configurations activate collaborator-1
sealroom-wordcount results --project=$COLLABORATOR_1_PROJECT_ID
sealroom config configurations activate collaborator-2
sealroom-wordcount results --project=$COLLABORATOR_2_PROJECT_ID

## Operator: stop the instance (the workload seals its state and publishes final results on SIGTERM)
sealroom config configurations activate operator
sealroom compute instances stop vm1 --zone=us-central1-a
