#!/usr/bin/env bash
# The seed tutorial (Confidential Space, multi-party word count) as Sealroom commands, step by step.
# Run `npm start` (or `npx sealroom serve --dev`) in another terminal first, then run this script or paste its
# lines one by one. `gcloud` is `sealroom`; the Go clients are `sealroom-wordcount`. `npm start` runs the same
# steps for you (examples/wordcount/scenario.ts) and prints them.
set -euo pipefail
export PATH="$(cd "$(dirname "$0")/../.." && pwd)/node_modules/.bin:$PATH"
export SEALROOM_API=${SEALROOM_API:-http://127.0.0.1:8080}
SUFFIX=${SUFFIX:-$RANDOM}
api() { # REST for the few calls the CLI has no command for yet (Pub/Sub admin): api METHOD PATH [JSON]
  curl -sSf -X "$1" "$SEALROOM_API$2" -H "authorization: Bearer $(sealroom auth print-access-token)" \
    -H 'content-type: application/json' ${3:+-d "$3"}
}

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

## Builder: build, sign and push the workload image; collaborators authorise its digest
sealroom config configurations activate builder
# sealroom build examples/wordcount --tag $(echo $SEALROOM_API | sed 's#http://##')/$BUILDER_PROJECT_ID/repo1/tee:server
export IMAGE_REFERENCE=${IMAGE_REFERENCE:?set it to the pushed image, HOST:PORT/$BUILDER_PROJECT_ID/repo1/tee@sha256:…}
export ISSUER_URI=${ISSUER_URI:-$SEALROOM_API}   # the verifier is the server's own base URL

## Operator: service account, topic, subscription (dead-lettering after 5 attempts), publish rights
sealroom config configurations activate operator
sealroom iam service-accounts create operator-svc-account
export SA=operator-svc-account@$OPERATOR_PROJECT_ID.iam.gserviceaccount.com
api PUT /v1/projects/$OPERATOR_PROJECT_ID/topics/cs-topic-dead-letter '{}'
api PUT /v1/projects/$OPERATOR_PROJECT_ID/topics/cs-topic '{}'
api PUT /v1/projects/$OPERATOR_PROJECT_ID/subscriptions/cs-subscribe "{\"topic\":\"projects/$OPERATOR_PROJECT_ID/topics/cs-topic\",\"ackDeadlineSeconds\":10,\"deadLetterPolicy\":{\"deadLetterTopic\":\"projects/$OPERATOR_PROJECT_ID/topics/cs-topic-dead-letter\",\"maxDeliveryAttempts\":5}}"
api POST /v1/projects/$OPERATOR_PROJECT_ID/subscriptions/cs-subscribe:setIamPolicy "{\"policy\":{\"bindings\":[{\"role\":\"roles/pubsub.subscriber\",\"members\":[\"serviceAccount:$SA\"]}]}}"
api POST /v1/projects/$OPERATOR_PROJECT_ID/topics/cs-topic:setIamPolicy "{\"policy\":{\"bindings\":[{\"role\":\"roles/pubsub.publisher\",\"members\":[\"user:$COLLABORATOR_1_GCLOUD_USER\",\"user:$COLLABORATOR_2_GCLOUD_USER\"]}]}}"

CONDITION="assertion.swname=='CONFIDENTIAL_SPACE' && \"STABLE\" in assertion.submods.confidential_space.support_attributes && assertion.submods.gce.project_id=='$OPERATOR_PROJECT_ID' && '$SA' in assertion.google_service_accounts"
create_pool() {
  sealroom iam workload-identity-pools create trusted-workload-pool --location=global
  sealroom iam workload-identity-pools providers create-oidc attestation-verifier \
    --location=global --workload-identity-pool=trusted-workload-pool \
    --issuer-uri="$ISSUER_URI/" --allowed-audiences=https://sts.googleapis.com \
    --attribute-mapping="google.subject=assertion.sub,attribute.image_reference=assertion.submods.container.image_reference" \
    --attribute-condition="$CONDITION"
}
# The instance reaches Pub/Sub as operator-svc-account, through the operator's own pool.
create_pool
sealroom iam service-accounts add-iam-policy-binding $SA --role=roles/iam.workloadIdentityUser \
  --member="principalSet://iam.googleapis.com/projects/$OPERATOR_PROJECT_NUMBER/locations/global/workloadIdentityPools/trusted-workload-pool/*"

## Each collaborator: pool and provider (the seed's condition), key, result secret, bindings to the image only
for N in 1 2; do
  sealroom config configurations activate collaborator-$N
  PROJECT=`sealroom config get-value core/project`
  NUMBER=`sealroom projects describe $PROJECT --format='value(projectNumber)'`
  USER_EMAIL=`sealroom config get-value core/account`
  IMAGE="principalSet://iam.googleapis.com/projects/$NUMBER/locations/global/workloadIdentityPools/trusted-workload-pool/attribute.image_reference/$IMAGE_REFERENCE"
  create_pool
  sealroom kms keyrings create kr1 --location=global
  sealroom kms keys create key1 --keyring=kr1 --location=global --purpose=encryption
  sealroom kms keys add-iam-policy-binding key1 --keyring=kr1 --location=global \
    --member="user:$USER_EMAIL" --role=roles/cloudkms.cryptoKeyEncrypterDecrypter
  # decrypt contributions, and encrypt this collaborator's result under its own key
  sealroom kms keys add-iam-policy-binding key1 --keyring=kr1 --location=global \
    --member="$IMAGE" --role=roles/cloudkms.cryptoKeyEncrypterDecrypter
  sealroom secrets create wordcount-results --replication-policy=automatic
  sealroom secrets add-iam-policy-binding wordcount-results --member="$IMAGE" --role=roles/secretmanager.secretVersionAdder
  sealroom secrets add-iam-policy-binding wordcount-results --member="user:$USER_EMAIL" --role=roles/secretmanager.secretAccessor
done
sealroom config configurations activate collaborator-1
sealroom kms keys create state --keyring=kr1 --location=global --purpose=encryption
sealroom kms keys add-iam-policy-binding state --keyring=kr1 --location=global --role=roles/cloudkms.cryptoKeyEncrypterDecrypter \
  --member="principalSet://iam.googleapis.com/projects/$COLLABORATOR_1_PROJECT_NUMBER/locations/global/workloadIdentityPools/trusted-workload-pool/attribute.image_reference/$IMAGE_REFERENCE"

## Operator: start the instance; the collaborator set travels in the measured launch configuration
sealroom config configurations activate operator
AUD() { echo "//iam.googleapis.com/projects/$1/locations/global/workloadIdentityPools/trusted-workload-pool/providers/attestation-verifier"; }
WORDCOUNT_CONFIG=$(cat <<JSON
{"subscription":"projects/$OPERATOR_PROJECT_ID/subscriptions/cs-subscribe",
 "pubsub":{"grpc":"127.0.0.1:8443","audience":"$(AUD $OPERATOR_PROJECT_NUMBER)","api":"$SEALROOM_API","serviceAccount":"$SA"},
 "collaborators":[
  {"name":"$COLLABORATOR_1_PROJECT_ID","audience":"$(AUD $COLLABORATOR_1_PROJECT_NUMBER)","kmsKey":"projects/$COLLABORATOR_1_PROJECT_ID/locations/global/keyRings/kr1/cryptoKeys/key1","api":"$SEALROOM_API","resultSecret":"projects/$COLLABORATOR_1_PROJECT_ID/secrets/wordcount-results"},
  {"name":"$COLLABORATOR_2_PROJECT_ID","audience":"$(AUD $COLLABORATOR_2_PROJECT_NUMBER)","kmsKey":"projects/$COLLABORATOR_2_PROJECT_ID/locations/global/keyRings/kr1/cryptoKeys/key1","api":"$SEALROOM_API","resultSecret":"projects/$COLLABORATOR_2_PROJECT_ID/secrets/wordcount-results"}],
 "state":{"file":"/tmp/wordcount-state.json","collaborator":"$COLLABORATOR_1_PROJECT_ID","kmsKey":"projects/$COLLABORATOR_1_PROJECT_ID/locations/global/keyRings/kr1/cryptoKeys/state"}}
JSON
)
sealroom compute instances create vm1 --confidential-compute --shielded-secure-boot --zone=us-central1-a \
  --image-family=confidential-space --service-account=$SA \
  --metadata "^~^tee-image-reference=$IMAGE_REFERENCE~tee-restart-policy=Never~tee-container-log-redirect=true~tee-env-WORDCOUNT_CONFIG=$(echo $WORDCOUNT_CONFIG | tr -d '\n')"

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

## Each collaborator reads and decrypts its own result (alice = 2)
sealroom config configurations activate collaborator-1
sealroom-wordcount results --project=$COLLABORATOR_1_PROJECT_ID
sealroom config configurations activate collaborator-2
sealroom-wordcount results --project=$COLLABORATOR_2_PROJECT_ID
