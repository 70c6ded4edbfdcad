import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;

/**
 * A single OpenSearch 2.19 node in this JVM, built from Maven Central jars (no tarball).
 * Run as a single source file: java -cp 'lib/*' EmbeddedOpenSearch.java HOME HTTP_PORT TRANSPORT_PORT
 * scripts/engines/opensearch.sh starts and stops it.
 */
public class EmbeddedOpenSearch {
  /** The constructor that takes classpath plugins is protected in 2.x, hence the subclass. */
  static class PluginNode extends Node {
    PluginNode(Environment env, Collection<Class<? extends Plugin>> plugins) {
      super(env, plugins, true);
    }
  }

  static final String[] OPTIONAL_PLUGINS = {
    "org.opensearch.analysis.common.CommonAnalysisPlugin",
    "org.opensearch.index.mapper.MapperExtrasPlugin",
    "org.opensearch.index.reindex.ReindexPlugin",
  };

  public static void main(String[] args) throws Exception {
    Path home = Paths.get(args.length > 0 ? args[0] : "os-home").toAbsolutePath();
    String httpPort = args.length > 1 ? args[1] : "9200";
    String transportPort = args.length > 2 ? args[2] : "9300";
    for (String dir : new String[] {"config", "data", "logs", "modules", "plugins"}) {
      Files.createDirectories(home.resolve(dir));
    }
    // LogConfigurator.configure needs a log4j2.properties in config/; console only, the script
    // redirects stdout to its log file.
    Files.writeString(home.resolve("config/log4j2.properties"), String.join("\n",
        "status = error",
        "appender.console.type = Console",
        "appender.console.name = console",
        "appender.console.layout.type = PatternLayout",
        "appender.console.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] %m%n",
        "rootLogger.level = info",
        "rootLogger.appenderRef.console.ref = console",
        ""));
    Settings settings = Settings.builder()
        .put("path.home", home.toString())
        .put("path.data", home.resolve("data").toString())
        .put("path.logs", home.resolve("logs").toString())
        .put("cluster.name", "obs-engine")
        .put("node.name", "obs-node")
        .put("discovery.type", "single-node")
        .put("network.host", "127.0.0.1")
        .put("http.port", httpPort)
        .put("transport.port", transportPort)
        .put("http.type", "netty4")
        .put("transport.type", "netty4")
        // Tests create many small daily indices; one shard, no replica keeps the node green.
        .put("cluster.routing.allocation.disk.threshold_enabled", false)
        .put("action.auto_create_index", true)
        .build();
    Environment env = InternalSettingsPreparer.prepareEnvironment(
        settings, Collections.emptyMap(), home.resolve("config"), () -> "obs-node");
    LogConfigurator.registerErrorListener();
    LogConfigurator.configure(env);

    List<Class<? extends Plugin>> plugins = new ArrayList<>();
    // Without Netty4Plugin the node starts but nothing listens for HTTP.
    plugins.add(Class.forName("org.opensearch.transport.Netty4Plugin").asSubclass(Plugin.class));
    for (String name : OPTIONAL_PLUGINS) {
      try {
        plugins.add(Class.forName(name).asSubclass(Plugin.class));
      } catch (ClassNotFoundException e) {
        System.err.println("plugin not on the classpath: " + name);
      }
    }
    Node node = new PluginNode(env, plugins).start();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        node.close();
      } catch (Exception e) {
        System.err.println("close failed: " + e);
      }
    }));
    Thread.currentThread().join();
  }
}
