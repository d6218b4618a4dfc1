package storage

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// awsSettings is what the AWS SDK's shared configuration says: the region
// and the credential chain's source, not yet asked for credentials.
type awsSettings struct {
	region string
	creds  aws.CredentialsProvider // the SDK's cache of the chain's source
	source string                  // names the source, for messages
	// imds is the chain's last resort, EC2 instance metadata: nothing
	// else is configured, so its failing means there are no credentials.
	imds bool
}

// loadAWSConfig loads the AWS SDK's default configuration, as boto3 does for
// KServe's storage package (kserve_storage.py, _download_s3:
// boto3.resource("s3", ...) with botocore's default credential chain):
// the profile (AWS_PROFILE, else "default") of ~/.aws/config and
// ~/.aws/credentials (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE) with
// its region, static keys, credential_process, sso_session (aws sso
// login), role_arn with source_profile or credential_source, or
// web_identity_token_file; IRSA (AWS_WEB_IDENTITY_TOKEN_FILE with
// AWS_ROLE_ARN); EKS Pod Identity and ECS
// (AWS_CONTAINER_CREDENTIALS_FULL_URI / _RELATIVE_URI); EC2 instance
// metadata. Nothing is fetched yet: the SDK resolves its sources from
// files and the environment. The variables read here through r.getenv are
// passed to the SDK; the SDK reads the rest of its own (AWS_ROLE_ARN,
// AWS_CONTAINER_*, AWS_ENDPOINT_URL_STS, ...) from the process
// environment.
func (r Resolver) loadAWSConfig(ctx context.Context) (awsSettings, error) {
	logger := r.logger()
	opts := []func(*config.LoadOptions) error{
		// The SDK's warnings (IMDSv1 fallback, a profile it skips) would go
		// to stderr; they are the debug detail of a source that failed.
		config.WithLogger(logging.LoggerFunc(func(_ logging.Classification, format string, v ...any) {
			logger.Debug("AWS SDK: " + fmt.Sprintf(format, v...))
		})),
		config.WithDefaultRegion("us-east-1"),
	}
	// AWS_DEFAULT_REGION is botocore's (and KServe's s3-region); the Go SDK
	// reads only AWS_REGION.
	if region := firstNonEmpty(r.getenv("AWS_DEFAULT_REGION"), r.getenv("AWS_REGION")); region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	profile := r.getenv("AWS_PROFILE")
	if profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(profile))
	}
	configFile, credentialsFile := r.getenv("AWS_CONFIG_FILE"), r.getenv("AWS_SHARED_CREDENTIALS_FILE")
	if configFile != "" {
		opts = append(opts, config.WithSharedConfigFiles([]string{configFile}))
	}
	if credentialsFile != "" {
		opts = append(opts, config.WithSharedCredentialsFiles([]string{credentialsFile}))
	}
	if strings.EqualFold(r.getenv("AWS_EC2_METADATA_DISABLED"), "true") {
		opts = append(opts, config.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		var missing config.SharedConfigProfileNotExistError
		if errors.As(err, &missing) {
			// botocore's ProfileNotFound, then where it looked.
			return awsSettings{}, newError(ErrInvalidURI, "AWS_PROFILE %s: The config profile (%s) could not be found in %s or %s",
				missing.Profile, missing.Profile, firstNonEmpty(configFile, config.DefaultSharedConfigFilename()),
				firstNonEmpty(credentialsFile, config.DefaultSharedCredentialsFilename()))
		}
		return awsSettings{}, newError(ErrInvalidURI, "loading the AWS configuration (AWS_PROFILE %q, AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE): %s",
			firstNonEmpty(profile, "default"), oneLine(err))
	}
	s := awsSettings{region: cfg.Region, creds: cfg.Credentials, source: awsSource(cfg, profile != "")}
	if c, ok := cfg.Credentials.(*aws.CredentialsCache); ok && c.IsCredentialsProvider(&ec2rolecreds.Provider{}) {
		// The SDK's instance metadata client tries three times for up to
		// five seconds, which every start away from EC2 would wait out
		// where nothing answers. botocore asks once, with a 1 s timeout;
		// one attempt of the SDK's client (250 ms to connect, 500 ms for
		// an answer, token and role each) is as short.
		s.imds = true
		s.creds = aws.NewCredentialsCache(ec2rolecreds.New(func(o *ec2rolecreds.Options) {
			o.Client = imds.NewFromConfig(cfg, func(o *imds.Options) { o.Retryer = aws.NopRetryer{} })
		}))
	}
	return s, nil
}

// awsSource names the source the SDK's chain resolved to, in the order of
// its resolveCredentialChain (config/resolve_credentials.go): web identity
// from the environment (unless a profile is named), then the profile's
// role_arn (assumed with the profile's other source), static keys,
// credential_source, web_identity_token_file, SSO, login session or
// credential_process, then the container endpoint, then EC2 instance
// metadata.
func awsSource(cfg aws.Config, profileSet bool) string {
	var env config.EnvConfig
	var shared config.SharedConfig
	for _, s := range cfg.ConfigSources {
		switch v := s.(type) {
		case config.EnvConfig:
			env = v
		case config.SharedConfig:
			shared = v
		}
	}
	if !profileSet && env.WebIdentityTokenFilePath != "" {
		return fmt.Sprintf("AWS_WEB_IDENTITY_TOKEN_FILE (%s, AWS_ROLE_ARN %s)", env.WebIdentityTokenFilePath, env.RoleARN)
	}
	profile := fmt.Sprintf("the AWS profile %q", firstNonEmpty(shared.Profile, "default"))
	switch {
	case shared.RoleARN != "":
		return fmt.Sprintf("%s (role_arn %s)", profile, shared.RoleARN)
	case shared.Credentials.HasKeys():
		// Its source is "SharedConfigCredentials: <file>".
		_, file, _ := strings.Cut(shared.Credentials.Source, ": ")
		return fmt.Sprintf("%s [%s]", file, firstNonEmpty(shared.Profile, "default"))
	case shared.CredentialSource != "":
		return fmt.Sprintf("%s (credential_source %s)", profile, shared.CredentialSource)
	case shared.WebIdentityTokenFile != "":
		return fmt.Sprintf("%s (web_identity_token_file %s)", profile, shared.WebIdentityTokenFile)
	case shared.SSOSessionName != "":
		return fmt.Sprintf("%s (sso_session %s)", profile, shared.SSOSessionName)
	case shared.SSOStartURL != "":
		return fmt.Sprintf("%s (sso_start_url %s)", profile, shared.SSOStartURL)
	case shared.LoginSession != "":
		return fmt.Sprintf("%s (login_session %s)", profile, shared.LoginSession)
	case shared.CredentialProcess != "":
		return fmt.Sprintf("%s (credential_process)", profile)
	case env.ContainerCredentialsRelativePath != "":
		return fmt.Sprintf("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (%s)", env.ContainerCredentialsRelativePath)
	case env.ContainerCredentialsEndpoint != "":
		return fmt.Sprintf("AWS_CONTAINER_CREDENTIALS_FULL_URI (%s)", env.ContainerCredentialsEndpoint)
	}
	return "EC2 instance metadata"
}

// signIn gets the first credentials now, so that a source that fails is
// one clear error before any listing: an *Error naming the source and the
// cause, of kind ErrDownload when its endpoint could not be reached or
// failed on its side (a cached copy outlasts that), ErrNotFound when it
// refused (an STS AccessDenied, an expired web identity token), else
// ErrInvalidURI (a credential_process that exits 1, an SSO session to log
// in to again). Instance metadata, the chain's last resort, failing is no
// credentials at all: KServe's boto3 then raises botocore's
// NoCredentialsError on the first signed request, so this does too,
// rather than reading the bucket unsigned and answering a private
// bucket's 403 with no word of why.
func (c s3Config) signIn(ctx context.Context) error {
	if c.creds == nil {
		return nil
	}
	_, err := c.creds.Retrieve(ctx)
	if err == nil {
		return nil
	}
	if c.imds {
		return newError(ErrNotFound, "Unable to locate credentials (botocore's NoCredentialsError): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "+
			"or AWS_PROFILE to a profile of ~/.aws/config or ~/.aws/credentials (aws configure, aws sso login), "+
			"or awsAnonymousCredential=true to read a public bucket unsigned")
	}
	return awsCredentialsError(c.source, err)
}

// awsCredentialsError is a credential source's failure on one line, of the
// kind signIn says.
func awsCredentialsError(source string, err error) error {
	var send *smithyhttp.RequestSendError
	var status interface{ HTTPStatusCode() int } // an STS, SSO or container endpoint's answer
	var op *smithy.OperationError
	var api smithy.APIError
	kind, cause := ErrInvalidURI, oneLine(err)
	switch {
	case errors.As(err, &send):
		kind = ErrDownload
		// The connection's error, without the SDK's chain and the
		// "Post <url>" the dial error repeats.
		cause = unwrapURLError(send.Err).Error()
		if errors.As(err, &op) {
			cause = fmt.Sprintf("%s %s: %s", op.Service(), op.Operation(), cause)
		}
	case errors.As(err, &status) && status.HTTPStatusCode() > 0:
		code := status.HTTPStatusCode()
		kind = ErrNotFound
		if code >= http.StatusInternalServerError || code == http.StatusTooManyRequests {
			kind = ErrDownload
		}
		if errors.As(err, &api) {
			// The service's answer, not the SDK's "https response error
			// StatusCode: 403, RequestID: ..." chain.
			who := "the endpoint"
			if errors.As(err, &op) {
				who = op.Service() + " " + op.Operation()
			}
			cause = fmt.Sprintf("%s answered %d (%s): %s", who, code, api.ErrorCode(), strings.Join(strings.Fields(api.ErrorMessage()), " "))
		}
	}
	var process *processcreds.ProviderError
	var exit *exec.ExitError
	if errors.As(err, &process) && errors.As(err, &exit) {
		// The SDK runs the command with the server's standard error as
		// its own (processcreds.DefaultNewCommandBuilder, for MFA
		// prompts), and config offers no way to give it another; botocore
		// puts the command's standard error in its error instead.
		cause += " (credential_process's standard error is in the server's log above)"
	}
	if strings.Contains(source, "(sso_") && kind != ErrDownload {
		// botocore's UnauthorizedSSOTokenError says the same.
		cause += "; the SSO session has expired or was never started: run aws sso login with the profile"
	}
	return newError(kind, "getting AWS credentials from %s: %s", source, cause)
}

// oneLine is err's text on one line, without the SDK's prefixes saying
// that it is about credentials.
func oneLine(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	for _, prefix := range []string{"failed to refresh cached credentials, ", "failed to retrieve credentials, "} {
		s = strings.TrimPrefix(s, prefix)
	}
	return s
}
