package io.chariots.launcher;

import io.chariots.common.auth.ClusterSecret;
import io.chariots.common.auth.Proof;
import io.chariots.common.auth.Prover;
import io.chariots.launcher.cluster.LocalCluster;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code secret} and {@code token}: the cluster secret, and proofs of it for curl. */
final class SecretCommands {
    private SecretCommands() {
    }

    @Command(name = "secret", mixinStandardHelpOptions = true,
            description = "Print a new random cluster secret (32 bytes, base64url), e.g. for a Docker secret: "
                    + "./chariots secret > deploy/secrets/cluster_secret. ./chariots up makes its own, in run/cluster_secret.")
    static final class NewSecret implements Callable<Integer> {
        @Override
        public Integer call() {
            System.out.println(ClusterSecret.generate());
            return 0;
        }
    }

    @Command(name = "certs", mixinStandardHelpOptions = true,
            description = "Make a throwaway certificate authority and a member certificate in DIR/tls (kept if there): "
                    + "ca.pem, ca.key, member.pem, member.key, valid for the name chariots (what roles check), localhost and "
                    + "127.0.0.1, plus each --name. A role uses them with --set tls.cert_file=DIR/tls/member.pem "
                    + "--set tls.key_file=DIR/tls/member.key --set tls.ca_file=DIR/tls/ca.pem; ./chariots up --tls does it all. "
                    + "For local use only: the CA's key lies next to it.")
    static final class Certs implements Callable<Integer> {
        @Mixin
        RunDir run;

        @Option(names = "--name", paramLabel = "NAME", description = "Another DNS name or IP address the member certificate is for "
                + "(those clients connect to, e.g. a load balancer's name).")
        java.util.List<String> names = new java.util.ArrayList<>();

        @Override
        public Integer call() throws Exception {
            io.chariots.launcher.cluster.LocalCa.Files3 f = io.chariots.launcher.cluster.LocalCa.ensure(run.dir.resolve("tls"), names);
            run.out().println("CA:                 " + f.ca());
            run.out().println("member certificate: " + f.cert());
            run.out().println("member key:         " + f.key());
            run.out().println("Roles: --set tls.cert_file=" + f.cert() + " --set tls.key_file=" + f.key() + " --set tls.ca_file=" + f.ca());
            run.out().flush();
            return 0;
        }
    }

    @Command(name = "token", mixinStandardHelpOptions = true,
            description = "Print a one-time proof of the cluster secret for one change to the controller, as curl sends it: "
                    + "curl -XPOST -H \"Authorization: Chariots $(./chariots token)\" 'localhost:8081/queue?host=h:p'. "
                    + "The secret is read from CHARIOTS_CLUSTER_SECRET, CHARIOTS_CLUSTER_SECRET_FILE or DIR/cluster_secret. "
                    + "Each proof is taken once, within the controller's clock skew (5 minutes).")
    static final class Token implements Callable<Integer> {
        @Mixin
        RunDir run;

        @Option(names = "--header", description = "Print the whole header value (Chariots PROOF) instead of the proof alone.")
        boolean header;

        @Override
        public Integer call() throws Exception {
            ClusterSecret secret = LocalCluster.readSecret(run.dir);
            if (secret == null) {
                run.err().println("No cluster secret: none in " + LocalCluster.secretFile(run.dir)
                        + ", CHARIOTS_CLUSTER_SECRET or CHARIOTS_CLUSTER_SECRET_FILE (an open cluster needs no token).");
                if (!run.datacenters().isEmpty()) {
                    run.err().println(run.noClusterHere());
                }
                return 1;
            }
            String proof = new Prover(secret).next(Proof.HTTP_PURPOSE);
            run.out().println(header ? Proof.HTTP_SCHEME + " " + proof : proof);
            run.out().flush();
            return 0;
        }
    }
}
