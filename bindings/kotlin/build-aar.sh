#!/usr/bin/env bash
# Packs the Android library: the generated Kotlin (bindings/kotlin/src/main) compiled to
# classes.jar, and the mobile crate's shared library per ABI under jni/<abi>/.
#
#   bindings/kotlin/build-aar.sh JNI_DIR OUT.aar
#
# JNI_DIR holds <abi>/libauthgate_mobile.so (what `cargo ndk -o JNI_DIR build -p
# authgate-mobile` writes). KOTLINC (default: kotlinc from the npm package kotlin-compiler,
# installed here when missing) and JNA_JAR (default: JNA 5.14.0 from Maven Central) can be
# given. Apps add the JNA dependency themselves: `implementation("net.java.dev.jna:jna:5.14.0@aar")`.
set -euo pipefail
jni=$(cd "$1" && pwd)
out=$2
cd "$(dirname "$0")/../.."
root=$PWD
work=target/aar
rm -rf "$work" && mkdir -p "$work/classes" "$work/aar/jni"

if [ -z "${KOTLINC:-}" ]; then
  mkdir -p .tools/kotlin
  [ -x .tools/kotlin/node_modules/kotlin-compiler/bin/kotlinc ] ||
    (cd .tools/kotlin && npm install --no-audit --no-fund --no-save kotlin-compiler@2.4.20)
  KOTLINC=$root/.tools/kotlin/node_modules/kotlin-compiler/bin/kotlinc
fi
if [ -z "${JNA_JAR:-}" ]; then
  JNA_JAR=$work/jna.jar
  curl -sSfL -o "$JNA_JAR" https://repo1.maven.org/maven2/net/java/dev/jna/jna/5.14.0/jna-5.14.0.jar
fi

"$KOTLINC" -nowarn -jvm-target 17 -cp "$JNA_JAR" bindings/kotlin/src/main/kotlin -d "$work/classes"
# The licences, under a path of their own (a bare META-INF/LICENSE clashes with other
# libraries' when an app is packaged): the libraries hold Django's BSD-licensed password list.
mkdir -p "$work/classes/META-INF/authgate"
cp LICENSE core/data/LICENSE.django "$work/classes/META-INF/authgate/"
(cd "$work/classes" && jar cf ../aar/classes.jar .)

for abi_dir in "$jni"/*/; do
  abi=$(basename "$abi_dir")
  mkdir -p "$work/aar/jni/$abi"
  cp "$abi_dir/libauthgate_mobile.so" "$work/aar/jni/$abi/"
done

cat > "$work/aar/AndroidManifest.xml" <<'XML'
<?xml version="1.0" encoding="utf-8"?>
<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="dev.authgate.mobile">
    <uses-sdk android:minSdkVersion="24" />
</manifest>
XML
: > "$work/aar/R.txt"
mkdir -p "$(dirname "$root/$out")"
rm -f "$root/$out"
(cd "$work/aar" && zip -qr "$root/$out" AndroidManifest.xml R.txt classes.jar jni)
echo "wrote $out ($(cd "$work/aar/jni" && echo *))"
