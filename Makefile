# tango-bench: one Makefile, per-configuration build directories, honest feature detection.
#
#   make              build build/tango-bench (CPU: reference kernels + OpenBLAS/OpenMP)
#   make test         build and run the whole suite; ends with "N passed, N failed, N skipped"
#   make asan         the same suite under AddressSanitizer + UBSan (objects in build/asan)
#   make bench        run the benchmarks (ratios against a baseline measured in the same run)
#   make fullsize-model  write the 16 GB random-weight 7B checkpoint bench_fullsize uses
#   make demo         run the embedded default job
#   make CUDA=1       also compile the CUDA sources with nvcc and link cudart/cublas
#   make info         print the detected features
#
# BUILD=dir puts objects and binaries elsewhere (several builds may run side by side).

CC      ?= cc
NVCC    ?= nvcc
CUDA    ?= 0
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
GIT_REV := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)

PKGS := sqlite3 libcurl libcjson libavformat libavcodec libswscale libavutil libcrypto libpcre2-8 openblas \
        libzip libxml-2.0

CSTD    := -std=c11 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wno-missing-field-initializers
OPT     := $(if $(filter 1,$(DEBUG)),-O0 -g,-O2 -g)
DEFS    := -DTB_VERSION=\"$(VERSION)\" -DTB_GIT_REV=\"$(GIT_REV)\" -UNDEBUG
INC      = -I. $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CFLAGS  += $(CSTD) $(WARN) $(OPT) $(DEFS) $(INC) -fopenmp -MMD -MP
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# libunistring (Unicode properties and case mapping for the answer scorers) ships no .pc file.
LDLIBS  += $(PKG_LIBS) -lunistring -fopenmp -lm -lpthread

ifneq ($(SANITIZE),)
  CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  LDFLAGS += -fsanitize=$(SANITIZE)
endif

# Library sources: every .c in the module folders, except the CLI entry point. CUDA builds swap
# each *_cuda_stub.c for the .cu file of the same stem.
MODULES   := common engine datasets tango baselines store reports harness
LIB_SRC   := $(filter-out harness/main.c,$(foreach m,$(MODULES),$(wildcard $(m)/*.c)))
CU_SRC    := $(foreach m,$(MODULES),$(wildcard $(m)/*.cu))
ifeq ($(CUDA),1)
  LIB_SRC := $(filter-out %_cuda_stub.c,$(LIB_SRC))
  CUDA_ARCH ?= 80
  CFLAGS  += -DTB_CUDA=1
  LDLIBS  += -L/usr/local/cuda/lib64 -lcudart -lcublas -lstdc++
  OUT     := $(BUILD)/cuda
  CU_OBJ  := $(CU_SRC:%.cu=$(OUT)/obj/%.cu.o)
else
  OUT     := $(BUILD)
  CU_OBJ  :=
endif
LIB_OBJ   := $(LIB_SRC:%.c=$(OUT)/obj/%.o) $(CU_OBJ)
LIB       := $(OUT)/libtango.a
BIN       := $(OUT)/tango-bench

TEST_SRC  := $(wildcard tests/test_*.c)
TEST_BIN  := $(TEST_SRC:tests/%.c=$(OUT)/tests/%)
BENCH_SRC := $(wildcard tests/bench_*.c)
BENCH_BIN := $(BENCH_SRC:tests/%.c=$(OUT)/tests/%)

.DEFAULT_GOAL := all

# Rebuild what embeds the git revision only when the revision changes.
REV_STAMP := $(OUT)/git-rev.txt
$(shell mkdir -p $(OUT); echo $(GIT_REV) | cmp -s - $(REV_STAMP) 2>/dev/null || echo $(GIT_REV) > $(REV_STAMP))
$(OUT)/obj/harness/build_info.o $(OUT)/obj/harness/main.o: $(REV_STAMP)

.PHONY: all deps test asan bench demo info help clean cuda-check fullsize-model
all: deps $(BIN)

# install-deps is idempotent and takes a fraction of a second when everything is present.
deps:
	@scripts/install-deps

$(OUT)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(OUT)/obj/%.cu.o: %.cu
	@mkdir -p $(dir $@)
	$(NVCC) -O2 -std=c++17 -arch=sm_$(CUDA_ARCH) -I. -DTB_CUDA=1 -c $< -o $@

# the published-values registry is assembled into the report code (.incbin)
$(OUT)/obj/reports/report_paper.o: reports/paper_values.tsv

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(OUT)/obj/harness/main.o $(LIB)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(OUT)/tests/%: tests/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(LIB) -o $@ $(LDLIBS) -lcmocka

# tango/ and baselines/ link on their own (common/ below them, OpenBLAS for the GEMM distances):
# no harness/, engine/, datasets/ or store/ object may be needed.
PRUNER_OBJ := $(filter $(OUT)/obj/common/% $(OUT)/obj/tango/% $(OUT)/obj/baselines/%,$(LIB_OBJ))
$(OUT)/tests/test_pruners_alone: tests/test_pruners_alone.c $(PRUNER_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(PRUNER_OBJ) -o $@ $(shell pkg-config --libs openblas libcrypto 2>/dev/null) \
	    -fopenmp -lm -lcmocka

test: deps $(BIN) $(TEST_BIN)
	@TB_BUILD=$(OUT) PYTHON=$(PYTHON) scripts/run-tests $(OUT)

asan:
	@$(MAKE) --no-print-directory SANITIZE=address,undefined BUILD=$(BUILD)/asan test

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

info:
	@echo "tango-bench $(VERSION) ($(GIT_REV))"
	@for p in $(PKGS); do if pkg-config --exists $$p; then echo "  ✓ $$p $$(pkg-config --modversion $$p)"; else echo "  ✗ $$p"; fi; done
	@if command -v $(NVCC) >/dev/null; then echo "  ✓ nvcc (make CUDA=1)"; else echo "  ✗ nvcc"; fi
	@if pkg-config --exists cmocka; then echo "  ✓ cmocka (tests)"; else echo "  ✗ cmocka (tests)"; fi
	@if [ -f /usr/include/unicase.h ]; then echo "  ✓ libunistring"; else echo "  ✗ libunistring"; fi

help:
	@sed -n '2,12p' Makefile | sed 's/^# \{0,1\}//'

clean:
	rm -rf build

-include $(shell find $(OUT)/obj -name '*.d' 2>/dev/null)
