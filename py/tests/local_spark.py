"""The Spark tests' session: local mode with 2 executor threads, quiet, 4 shuffle partitions.
`local_spark(name)` returns None, having said why, when pyspark or Java is missing."""
import os
import shutil
import sys


def local_spark(name):
    try:
        import pyspark  # noqa: F401
    except ImportError:
        print("skip: pyspark is not installed")
        return None
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        print("skip: no Java runtime (install openjdk-17-jre-headless)")
        return None
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (SparkSession.builder.master("local[2]").appName(name)
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", "4").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark
