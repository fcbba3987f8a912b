// Bazel's own remote worker (src/tools/remote in Debian's bazel-bootstrap-source)
// served on a loopback port that the OS picks, for flaky's remote-execution tests.
//
//   java -cp worker.jar:/usr/share/bazel/A-server.jar \
//     com.google.devtools.build.remote.worker.LoopbackWorker \
//     --port_file=/tmp/w/port --work_path=/tmp/w/work --cas_path=/tmp/w/cas
//   # serves REAPI v2 (execution, CAS, action cache, bytestream) on
//   # 127.0.0.1:<port>; <port> is written to --port_file once it accepts calls
//
// Upstream's RemoteWorker.main binds every interface and logs the port it was
// given, so with --listen_port=0 nobody learns the port the OS chose. This
// class builds the same five services (it lives in their package, whose
// classes are package-private) and binds them to the loopback address only.
// It takes upstream's flags (RemoteOptions and RemoteWorkerOptions; --work_path
// and --cas_path are required) plus --port_file. Sandboxing is not offered:
// Debian's server jar does not bundle the linux-sandbox the worker would
// extract, and flaky's starve wrapper needs the cgroup hierarchy writable.
package com.google.devtools.build.remote.worker;

import build.bazel.remote.execution.v2.ActionResult;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.devtools.build.lib.remote.options.RemoteOptions;
import com.google.devtools.build.lib.remote.util.DigestUtil;
import com.google.devtools.build.lib.remote.util.TracingMetadataUtils;
import com.google.devtools.build.lib.vfs.FileSystem;
import com.google.devtools.build.lib.vfs.FileSystemUtils;
import com.google.devtools.build.lib.vfs.Path;
import com.google.devtools.common.options.OptionsParser;
import io.grpc.Server;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.netty.NettyServerBuilder;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/** Runs Bazel's remote worker on 127.0.0.1 and reports the port it got. */
public final class LoopbackWorker {
  private static final String PORT_FILE_FLAG = "--port_file=";

  private LoopbackWorker() {}

  private static void die(String message) {
    System.err.println("LoopbackWorker: " + message);
    System.exit(2);
  }

  public static void main(String[] args) throws Exception {
    String portFile = null;
    List<String> upstreamArgs = new ArrayList<>();
    for (String arg : args) {
      if (arg.startsWith(PORT_FILE_FLAG)) {
        portFile = arg.substring(PORT_FILE_FLAG.length());
      } else {
        upstreamArgs.add(arg);
      }
    }
    OptionsParser parser =
        OptionsParser.builder()
            .optionsClasses(RemoteOptions.class, RemoteWorkerOptions.class)
            .build();
    parser.parseAndExitUponError(upstreamArgs.toArray(new String[0]));
    RemoteOptions remoteOptions = parser.getOptions(RemoteOptions.class);
    RemoteWorkerOptions workerOptions = parser.getOptions(RemoteWorkerOptions.class);
    if (portFile == null || workerOptions.workPath == null || workerOptions.casPath == null) {
      die("--port_file, --work_path and --cas_path are required");
    }
    if (workerOptions.sandboxing) {
      die("--sandboxing is not supported (no bundled linux-sandbox)");
    }

    FileSystem fs = RemoteWorker.getFileSystem();
    DigestUtil digestUtil = new DigestUtil(fs.getDigestFunction());
    Path casPath = fs.getPath(workerOptions.casPath);
    Path workPath = fs.getPath(workerOptions.workPath);
    FileSystemUtils.createDirectoryAndParents(casPath);
    FileSystemUtils.createDirectoryAndParents(workPath);
    OnDiskBlobStoreCache cache = new OnDiskBlobStoreCache(remoteOptions, casPath, digestUtil);
    ExecutionServer execution =
        new ExecutionServer(
            workPath,
            /* sandboxPath= */ null,
            workerOptions,
            cache,
            new ConcurrentHashMap<String, ListenableFuture<ActionResult>>(),
            digestUtil);

    ServerInterceptor headers = new TracingMetadataUtils.ServerHeadersInterceptor();
    Server server =
        NettyServerBuilder.forAddress(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), workerOptions.listenPort))
            .addService(
                ServerInterceptors.intercept(new ActionCacheServer(cache, digestUtil), headers))
            .addService(
                ServerInterceptors.intercept(
                    new ByteStreamServer(cache, workPath, digestUtil), headers))
            .addService(ServerInterceptors.intercept(new CasServer(cache), headers))
            .addService(
                ServerInterceptors.intercept(new CapabilitiesServer(digestUtil, true), headers))
            .addService(ServerInterceptors.intercept(execution, headers))
            .build()
            .start();

    java.nio.file.Path port = Paths.get(portFile);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.shutdownNow();
                  try {
                    server.awaitTermination(5, TimeUnit.SECONDS);
                    Files.deleteIfExists(port);
                  } catch (Exception e) {
                    // Exiting anyway; the caller removes what is left.
                  }
                }));
    // Written whole and renamed, so a reader never sees a partial port.
    java.nio.file.Path partial = Paths.get(portFile + ".partial");
    Files.write(partial, (server.getPort() + "\n").getBytes(StandardCharsets.UTF_8));
    Files.move(partial, port, StandardCopyOption.ATOMIC_MOVE);
    System.err.println(
        "LoopbackWorker: serving remote execution on 127.0.0.1:"
            + server.getPort()
            + " (work "
            + workPath
            + ", cas "
            + casPath
            + ", jobs "
            + workerOptions.jobs
            + ")");
    server.awaitTermination();
  }
}
