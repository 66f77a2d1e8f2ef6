# tango-bench: one Makefile, per-configuration build directories, honest feature detection.
#
#   make              build build/tango-bench (CPU: reference kernels + OpenBLAS/OpenMP)
#   make test         build and run the whole suite; ends with "N passed, N failed, N skipped"
#   make asan         the same suite under AddressSanitizer + UBSan (objects in build/asan)
#   make bench        run the benchmarks (ratios against a baseline measured in the same run)
#   make fullsize-model  write the 16 GB random-weight 7B checkpoint bench_fullsize uses
#   make fuzz         build the libFuzzer harnesses (clang) and run each for FUZZ_SECONDS (60)
#   make demo         run the embedded default job
#   make CUDA=1       also compile the CUDA sources with nvcc (a fat binary: CUDA_ARCH="80 90")
#                     and link cudart, cuBLAS and cuBLASLt
#   make lean         the GPU engine with only the CUDA toolkit, libc and lean-deps/ (no FFmpeg,
#                     libcurl, SQLite, OpenSSL, OpenBLAS): engine, pruners, .npy I/O, the op tests
#                     and the GPU bench driver, in build/lean (scripts/gpu-check builds it)
#   make info         print the detected features
#
# BUILD=dir puts objects and binaries elsewhere (several builds may run side by side).

CC      ?= cc
# CUDA_HOME: the toolkit of the nvcc on PATH, else /usr/local/cuda
CUDA_HOME ?= $(or $(patsubst %/bin/nvcc,%,$(shell command -v nvcc 2>/dev/null)),/usr/local/cuda)
NVCC    ?= $(CUDA_HOME)/bin/nvcc
CUDA    ?= 0
LEAN    ?= 0
DEBUG   ?= 0
SANITIZE ?=
PYTHON  ?= /usr/bin/python3
# Idle OpenMP threads sleep instead of spinning (see harness/main.c); tests and benchmarks are
# separate programs, so they get it from the environment.
export OMP_WAIT_POLICY ?= passive

ifeq ($(SANITIZE),)
  BUILD ?= build
else
  BUILD ?= build/asan
endif

VERSION := 0.1.0
# TB_GIT_REV names the revision where the tree is a copy without .git (scripts/gpu-check).
GIT_REV := $(or $(TB_GIT_REV),$(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown))

ifeq ($(LEAN),1)
  # The lean build: no pkg-config packages; cJSON, PCRE2 and cmocka come from lean-deps/ (scripts/lean-deps),
  # CBLAS from lean/, SHA-256 from common/sha256_lean.c. CUDA is implied.
  PKGS :=
  CUDA := 1
  override BUILD := $(BUILD)/lean
  LEAN_DEPS ?= lean-deps
else
  PKGS := sqlite3 libcurl libcjson libavformat libavcodec libswscale libavutil libcrypto libpcre2-8 openblas \
          libzip libxml-2.0
endif

CSTD    := -std=c11 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wno-missing-field-initializers
OPT     := $(if $(filter 1,$(DEBUG)),-O0 -g,-O2 -g)
DEFS    := -DTB_VERSION=\"$(VERSION)\" -DTB_GIT_REV=\"$(GIT_REV)\" -UNDEBUG
ifeq ($(LEAN),1)
  INC      = -I. -Ilean -I$(LEAN_DEPS)/include
  DEFS    += -DTB_LEAN=1
  PKG_LIBS = $(LEAN_DEPS)/lib/libcjson.so.1 $(LEAN_DEPS)/lib/libpcre2-8.so.0 -Wl,-rpath,$(abspath $(LEAN_DEPS)/lib)
  CMOCKA   = $(LEAN_DEPS)/lib/libcmocka.so.0
else
  INC      = -I. $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
  # libunistring (Unicode properties and case mapping for the answer scorers) ships no .pc file.
  PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lunistring
  CMOCKA   = -lcmocka
endif
CFLAGS  += $(CSTD) $(WARN) $(OPT) $(DEFS) $(INC) -fopenmp -MMD -MP
LDLIBS  += $(PKG_LIBS) -fopenmp -lm -lpthread

ifneq ($(SANITIZE),)
  CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  LDFLAGS += -fsanitize=$(SANITIZE)
endif
# make fuzz builds the library again with coverage instrumentation for libFuzzer.
CFLAGS += $(FUZZ_CFLAGS)

# Library sources: every .c in the module folders, except the CLI entry point. CUDA builds swap
# each *_cuda_stub.c for the .cu file of the same stem. A file X_lean.c replaces X.c in the lean
# build and is left out of every other build.
MODULES   := common engine datasets tango baselines store reports harness
LEAN_SUBST := $(foreach m,$(MODULES),$(wildcard $(m)/*_lean.c))
ifeq ($(LEAN),1)
  # engine, pruners, the method registry, the sample pipeline and .npy I/O; lean/ supplies the
  # CBLAS subset the pruners call
  LIB_SRC := $(filter-out $(LEAN_SUBST:_lean.c=.c), $(wildcard common/*.c engine/*.c tango/*.c baselines/*.c)) \
             harness/npy.c harness/registry.c harness/pipeline.c $(wildcard lean/*.c)
else
  LIB_SRC := $(filter-out harness/main.c $(LEAN_SUBST),$(foreach m,$(MODULES),$(wildcard $(m)/*.c)))
endif
CU_SRC    := $(foreach m,$(MODULES),$(wildcard $(m)/*.cu))
# CUDA_ARCH: the SM versions of the fat binary (cubins for each, PTX of the last for newer GPUs).
CUDA_ARCH ?= 80 90
# sm_80 is the floor: bf16 tensor cores, cp.async and ldmatrix (engine/kernels_cuda_attn.cu).
ifneq ($(filter-out 80 86 87 89 90 100 120,$(CUDA_ARCH)),)
  $(error CUDA_ARCH="$(CUDA_ARCH)": each entry must be one of 80 86 87 89 90 100 120 (sm_80 or newer))
endif
ifeq ($(strip $(CUDA_ARCH)),)
  $(error CUDA_ARCH is empty)
endif
GENCODE   := $(foreach a,$(CUDA_ARCH),-gencode arch=compute_$(a),code=sm_$(a)) \
             -gencode arch=compute_$(lastword $(CUDA_ARCH)),code=compute_$(lastword $(CUDA_ARCH))
NVCCFLAGS := -O3 -std=c++17 $(GENCODE) --threads 0 -I. -DTB_CUDA=1 -lineinfo -Xcompiler -Wall,-Wno-unused-function
ifeq ($(CUDA),1)
  LIB_SRC := $(filter-out %_cuda_stub.c,$(LIB_SRC))
  CFLAGS  += -DTB_CUDA=1 -I$(CUDA_HOME)/include
  LDLIBS  += -L$(CUDA_HOME)/lib64 -lcublasLt -lcublas -lcudart -lstdc++ -Wl,-rpath,$(CUDA_HOME)/lib64
  OUT     := $(if $(filter 1,$(LEAN)),$(BUILD),$(BUILD)/cuda)
  CU_OBJ  := $(CU_SRC:%.cu=$(OUT)/obj/%.cu.o)
else
  OUT     := $(BUILD)
  CU_OBJ  :=
endif
LIB_OBJ   := $(LIB_SRC:%.c=$(OUT)/obj/%.o) $(CU_OBJ)
LIB       := $(OUT)/libtango.a
BIN       := $(OUT)/tango-bench

ifeq ($(LEAN),1)
  # the tests and the benchmark that need nothing but the lean library
  TEST_SRC  := tests/test_ops.c tests/test_cuda.c
  BENCH_SRC := tests/bench_gpu.c
else
  TEST_SRC  := $(wildcard tests/test_*.c)
  BENCH_SRC := $(wildcard tests/bench_*.c)
endif
TEST_BIN  := $(TEST_SRC:tests/%.c=$(OUT)/tests/%)
BENCH_BIN := $(BENCH_SRC:tests/%.c=$(OUT)/tests/%)
# the CUDA kernel lab (tests/kernels/*.cu, style.md practice 14): standalone nvcc programs
LAB_SRC   := $(wildcard tests/kernels/*.cu)
LAB_BIN   := $(LAB_SRC:tests/kernels/%.cu=$(OUT)/kernels/%)
# libFuzzer harnesses: each is also linked with tests/fuzz/replay.c into a suite program that
# replays its seed corpus and past crash inputs (tests/fuzz_replay.sh).
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_HDR   := $(wildcard tests/fuzz/*.h)
REPLAY_BIN := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=$(OUT)/tests/fuzz/replay_%)
FUZZ_BIN   := $(FUZZ_SRC:tests/fuzz/%.c=$(OUT)/fuzz/%)
FUZZ_SECONDS ?= 60
FUZZ_CC    ?= clang
INSTALL_DEPS ?= scripts/install-deps

.DEFAULT_GOAL := all

# Rebuild what embeds the git revision only when the revision changes.
REV_STAMP := $(OUT)/git-rev.txt
$(shell mkdir -p $(OUT); echo $(GIT_REV) | cmp -s - $(REV_STAMP) 2>/dev/null || echo $(GIT_REV) > $(REV_STAMP))
$(OUT)/obj/harness/build_info.o $(OUT)/obj/harness/main.o: $(REV_STAMP)

.PHONY: all deps test asan bench demo info help clean cuda-check lean lean-all kernels fullsize-model fuzz fuzz-bin
ifeq ($(LEAN),1)
all: lean-all
else
all: deps $(BIN)
endif

# install-deps is idempotent and takes a fraction of a second when everything is present. Every
# compile waits for it (an order-only prerequisite): with make -j a compile that started first
# found no curl/curl.h on a fresh machine. INC and PKG_LIBS are expanded when a recipe runs, after.
# The lean build installs nothing (it runs where no package manager may be used).
deps:
ifneq ($(LEAN),1)
	@$(INSTALL_DEPS)
endif

$(OUT)/obj/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(OUT)/obj/%.cu.o: %.cu | deps
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -MMD -MP -MF $(@:.o=.d) -c $< -o $@

$(OUT)/kernels/%: tests/kernels/%.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -MMD -MP -MF $@.d $< -o $@

# the published-values registry is assembled into the report code (.incbin)
$(OUT)/obj/reports/report_paper.o: reports/paper_values.tsv

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(OUT)/obj/harness/main.o $(LIB)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(OUT)/tests/%: tests/%.c $(LIB) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(LIB) -o $@ $(LDLIBS) $(CMOCKA)

# The allocation-failure test routes every allocation of the library through its own counting
# allocator (tests/test_alloc_fail.c); only that binary is linked so.
ALLOC_WRAP := malloc calloc realloc free strdup strndup aligned_alloc
$(OUT)/tests/test_alloc_fail: LDFLAGS += $(foreach f,$(ALLOC_WRAP),-Wl,--wrap=$(f))

$(OUT)/tests/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(FUZZ_HDR) $(LIB) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< tests/fuzz/replay.c $(LIB) -o $@ $(LDLIBS)

$(OUT)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_HDR) $(LIB) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer $(LDFLAGS) $< $(LIB) -o $@ $(LDLIBS)

# tango/ and baselines/ link on their own (common/ below them, OpenBLAS for the GEMM distances):
# no harness/, engine/, datasets/ or store/ object may be needed.
PRUNER_OBJ := $(filter $(OUT)/obj/common/% $(OUT)/obj/tango/% $(OUT)/obj/baselines/%,$(LIB_OBJ))
$(OUT)/tests/test_pruners_alone: tests/test_pruners_alone.c $(PRUNER_OBJ) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(PRUNER_OBJ) -o $@ $(shell pkg-config --libs openblas libcrypto 2>/dev/null) \
	    -fopenmp -lm -lcmocka

test: deps $(BIN) $(TEST_BIN) $(REPLAY_BIN)
	@TB_BUILD=$(OUT) PYTHON=$(PYTHON) scripts/run-tests $(OUT)

asan:
	@$(MAKE) --no-print-directory SANITIZE=address,undefined BUILD=$(BUILD)/asan test

# The harnesses with clang's libFuzzer, AddressSanitizer and UBSan (objects in build/fuzz), then
# scripts/fuzz runs each for FUZZ_SECONDS on a copy of its seed corpus; a crash input lands in
# build/fuzz/crashes/<harness>/ and fails the target (copy it to tests/fuzz/crashes/<harness>/
# with the fix, and the suite replays it from then on).
fuzz: deps
	@$(MAKE) --no-print-directory CC=$(FUZZ_CC) SANITIZE=address,undefined BUILD=build/fuzz \
	    FUZZ_CFLAGS="-fsanitize=fuzzer-no-link -Wno-pass-failed" fuzz-bin
	@scripts/fuzz build/fuzz $(FUZZ_SECONDS)

fuzz-bin: $(FUZZ_BIN)

# Every benchmark runs even when an earlier one misses its target; the exit status reports misses.
bench: deps $(BIN) $(BENCH_BIN)
	@failed=""; for b in $(BENCH_BIN); do echo "== $$b"; TB_BUILD=$(OUT) TB_BIN=$(BIN) PYTHON=$(PYTHON) \
	  TB_FULLSIZE_MODEL=$(FULLSIZE_MODEL) $$b || failed="$$failed $$(basename $$b)"; done; \
	if [ -n "$$failed" ]; then echo "benchmarks that failed:$$failed"; exit 1; fi

# The full-size random-weight checkpoint bench_fullsize uses (16 GB of bf16; about 5 min to write,
# under 100 MB of memory). FULLSIZE_PRESET=llava-video-7b for the LLaVA-Video shape; TOKENIZER=DIR
# copies a real Qwen2 vocabulary (vocab.json + merges.txt + added_tokens.json) into it.
FULLSIZE_MODEL  ?= $(or $(TB_FULLSIZE_MODEL),$(HOME)/.cache/tango-bench/llava-ov-7b)
FULLSIZE_PRESET ?= llava-ov-7b
TOKENIZER       ?=
fullsize-model: deps $(BIN)
	$(BIN) make-tiny-model $(FULLSIZE_MODEL) --preset $(FULLSIZE_PRESET) $(if $(TOKENIZER),--tokenizer $(TOKENIZER))

demo: deps $(BIN)
	@scripts/demo $(OUT)

cuda-check:
	@$(MAKE) --no-print-directory CUDA=1 all

# The lean build (see the top of this file). lean-deps/ is filled by scripts/lean-deps on a
# machine with the Debian packages; the GPU machine receives it as a carried folder.
lean:
	@$(MAKE) --no-print-directory LEAN=1 lean-all

lean-all: lean-deps-present $(LIB) $(TEST_BIN) $(BENCH_BIN) $(LAB_BIN)
	@echo "lean build in $(OUT): $(notdir $(TEST_BIN) $(BENCH_BIN) $(LAB_BIN))"

.PHONY: lean-deps-present
lean-deps-present:
	@test -f $(LEAN_DEPS)/include/cmocka.h || { echo "lean: $(LEAN_DEPS)/ is missing: run scripts/lean-deps first" >&2; exit 1; }

# The kernel lab (make CUDA=1 kernels; the lean build includes it).
kernels:
	@$(MAKE) --no-print-directory CUDA=1 $(LAB_SRC:tests/kernels/%.cu=$(BUILD)/cuda/kernels/%)

info:
	@echo "tango-bench $(VERSION) ($(GIT_REV))"
	@for p in $(PKGS); do if pkg-config --exists $$p; then echo "  ✓ $$p $$(pkg-config --modversion $$p)"; else echo "  ✗ $$p"; fi; done
	@if command -v $(NVCC) >/dev/null; then echo "  ✓ nvcc $$($(NVCC) --version | sed -n 's/.*release \([0-9.]*\).*/\1/p') (make CUDA=1: sm_$(CUDA_ARCH))"; else echo "  ✗ nvcc"; fi
	@if pkg-config --exists cmocka; then echo "  ✓ cmocka (tests)"; else echo "  ✗ cmocka (tests)"; fi
	@if [ -f /usr/include/unicase.h ]; then echo "  ✓ libunistring"; else echo "  ✗ libunistring"; fi

help:
	@sed -n '2,17p' Makefile | sed 's/^# \{0,1\}//'

clean:
	rm -rf build

-include $(shell find $(OUT)/obj $(OUT)/kernels -name '*.d' 2>/dev/null)
